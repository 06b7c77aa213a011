package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/secret"
)

func TestSimulateHelpNamesEveryFlagAndVariable(t *testing.T) {
	var out strings.Builder
	if err := simulate(t.Context(), []string{"-h"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"-addr", "SIM_ADDR", "127.0.0.1:8089", "-token", "SIM_TOKEN", "-seed", "SIM_SEED", "-tz", "WOLKVOX_TIMEZONE",
		"-callers", "SIM_CALLERS_PER_WINDOW", "-population", "SIM_POPULATION", "-skills", "SIM_SKILLS", "-latency", "SIM_LATENCY",
		"-error-rate", "SIM_ERROR_RATE", "-malformed-rate", "SIM_MALFORMED_RATE", "-late-data", "SIM_LATE_DATA",
		"-quota", "SIM_DAILY_QUOTA", "-plain-numbers", "SIM_PLAIN_NUMBERS", "-empty-as-200", "SIM_EMPTY_AS_200"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("-h does not mention %s:\n%s", s, out.String())
		}
	}
}

func TestSimulateRefusesBadInput(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  map[string]string
		says string
	}{
		{[]string{"-nope"}, nil, "-nope"},
		{[]string{"extra"}, nil, "no arguments"},
		{nil, map[string]string{"SIM_ERROR_RATE": "lots"}, "SIM_ERROR_RATE"},
		{nil, map[string]string{"SIM_LATENCY": "5"}, "SIM_LATENCY"},
		{[]string{"-tz", "Mars/Olympus"}, nil, "Mars/Olympus"},
		{[]string{"-addr", "256.0.0.1:1"}, nil, "256.0.0.1"},
	} {
		err := simulate(t.Context(), tt.args, func(k string) string { return tt.env[k] }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%v %v: %v, want an error about %s", tt.args, tt.env, err, tt.says)
		}
	}
}

// TestSimulateServesUntilCanceled runs the command, fetches from it with the
// real client, with settings from flags and from the environment, and stops
// it.
func TestSimulateServesUntilCanceled(t *testing.T) {
	env := map[string]string{"SIM_TOKEN": "env-token", "SIM_SEED": "9", "SIM_PLAIN_NUMBERS": "true", "SIM_LATENCY": "1ms"}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- simulate(ctx, []string{"-addr", "127.0.0.1:0", "-callers", "25"}, func(k string) string { return env[k] }, w, io.Discard)
		w.Close()
	}()
	lines := bufio.NewScanner(out)
	baseURL := ""
	for baseURL == "" && lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "WOLKVOX_BASE_URL="); ok {
			baseURL = v
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if baseURL == "" {
		t.Fatalf("no WOLKVOX_BASE_URL printed: %v", <-done)
	}

	loc, _ := time.LoadLocation("America/Bogota")
	start := time.Date(2025, 6, 1, 10, 0, 0, 0, loc)
	cfg := fetch.Config{BaseURL: baseURL, Token: secret.New("env-token"), TimeZone: "America/Bogota",
		Timeout: 10 * time.Second, MaxAttempts: 1, MaxBodyBytes: 1 << 20}
	c, err := fetch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Fetch(ctx, "1", start, start.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := wolkvoxsim.Rows(wolkvoxsim.Config{Seed: 9, CallersPerWindow: 25}, "1", start, start.Add(5*time.Minute), time.Now())
	if len(rep.Rows) == 0 || len(rep.Rows) != len(want) || rep.Rows[0] != want[0] {
		t.Errorf("fetched %d rows, the data set has %d", len(rep.Rows), len(want))
	}
	cfg.Token = secret.New("other")
	c, _ = fetch.New(cfg)
	if _, err := c.Fetch(ctx, "1", start, start.Add(5*time.Minute)); !errors.Is(err, fetch.KindAuth) {
		t.Errorf("wrong token: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("simulate ended with %v", err)
	}
}
