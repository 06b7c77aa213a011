package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVersionFlagAndVersionHelp(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		var out, errOut bytes.Buffer
		if err := dispatch(context.Background(), args, &out, &errOut); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.HasPrefix(out.String(), "skill6pub ") || strings.TrimSpace(out.String()) == "skill6pub" {
			t.Errorf("%v printed %q, want skill6pub and a version", args, out.String())
		}
	}
	var out, errOut bytes.Buffer
	if err := dispatch(context.Background(), []string{"version", "-h"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 || !strings.HasPrefix(errOut.String(), "Usage: skill6pub version") {
		t.Errorf("version -h printed %q on stdout and %q on stderr, want its usage", out.String(), errOut.String())
	}
}

// A mistyped flag prints the command's usage line and where to find more,
// not the table of every environment variable; -h prints the table.
func TestAMistypedFlagPrintsTheUsageLine(t *testing.T) {
	var out, errOut bytes.Buffer
	err := dispatch(context.Background(), []string{"once", "--windw", "2026-11-23T10:00"}, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "flag provided but not defined: -windw") {
		t.Fatalf("err = %v, want a usage error naming the flag", err)
	}
	if !strings.Contains(errOut.String(), "Usage: skill6pub once [--window TIME]") || !strings.Contains(errOut.String(), "skill6pub once -h lists") ||
		strings.Contains(errOut.String(), "KAFKA_BROKERS") {
		t.Errorf("stderr after a mistyped flag:\n%s\nwant the usage line without the variable table", errOut.String())
	}
	errOut.Reset()
	if err := dispatch(context.Background(), []string{"once", "-h"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Usage: skill6pub once", "-window", "KAFKA_BROKERS"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("once -h lacks %q:\n%s", want, errOut.String())
		}
	}
}

// Durations in the logs read like 5m0s, in both formats, in the real
// binary (the format is set once in main).
func TestProcessLogsDurationsLikeSettings(t *testing.T) {
	for format, want := range map[string]string{"json": `"interval":"5m0s"`, "console": "interval=5m0s"} {
		t.Run(format, func(t *testing.T) {
			w := newWorld(t)
			child := w.start("LOG_FORMAT=" + format)
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(w.logs.String(), "skill6pub starting") {
				if time.Now().After(deadline) {
					t.Fatalf("no start line\n%s", w.logs.String())
				}
				time.Sleep(10 * time.Millisecond) // polling the child's output
			}
			_ = child.Process.Kill()
			_ = child.Wait()
			for _, line := range strings.Split(w.logs.String(), "\n") {
				if strings.Contains(line, "skill6pub starting") && !strings.Contains(line, want) {
					t.Errorf("start line %q lacks %s", line, want)
				}
			}
		})
	}
}
