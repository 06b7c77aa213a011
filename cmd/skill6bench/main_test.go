package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary be figure 4's child process, as the command
// re-executes itself (os.Executable) to measure a process of its own.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-"+childFlag {
		if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunPrintsEveryFigure runs the whole benchmark with tiny sizes and
// checks that the table has a row per figure and size, with a measurement
// in each. It checks no time: figures are for BENCHMARKS.md.
func TestRunPrintsEveryFigure(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"-rows", "20,60", "-repeat", "2", "-backfill-windows", "3", "-backfill-skills", "2",
		"-latency", "1ms", "-rss-rows", "50", "-stage-rows", "50"}
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"| 1 window latency, due -> window_closed acked, ",
		"| 2 throughput vs ceiling, ",
		"| 3 backfill, 6 windows x 1ms per call ",
		"| 4 peak RSS, 50-row window ",
		"| 5 decode, one goroutine ",
		"| 5 diff, one goroutine ",
		"| 5 encode, one goroutine ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no row starting %q in:\n%s", want, out)
		}
	}
	// Two window sizes: a latency and a throughput row each.
	if n := strings.Count(out, "| 1 window latency"); n != 2 {
		t.Errorf("%d latency rows, want 2:\n%s", n, out)
	}
	if n := strings.Count(out, "| 2 throughput"); n != 2 {
		t.Errorf("%d throughput rows, want 2:\n%s", n, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, line := range lines[4:] { // after the title, a blank line, the head and the rule
		cells := strings.Split(line, "|")
		if len(cells) != 6 || strings.TrimSpace(cells[2]) == "" {
			t.Errorf("row without a measurement: %q", line)
		}
	}
}

func TestFiguresSelectsWhatIsMeasured(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-figures", "5", "-stage-rows", "30"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	if out := stdout.String(); strings.Contains(out, "| 1 ") || strings.Contains(out, "| 3 ") || !strings.Contains(out, "| 5 encode") {
		t.Errorf("-figures 5 printed:\n%s", out)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-rows", "0"},
		{"-rows", "ten"},
		{"-figures", "6"},
		{"-repeat", "0"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), args, &stdout, &stderr); err == nil {
			t.Errorf("%q: no error", args)
		}
		if stdout.Len() > 0 {
			t.Errorf("%q printed %q", args, stdout.String())
		}
	}
}
