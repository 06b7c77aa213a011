package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestDemoRunsToCompletion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	opts := demoOptions{windows: 3, skills: []string{"3", "7"}, speed: 1500, callers: 30, logLevel: "warn"}
	if err := demo(ctx, opts, &out, io.Discard); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"skill  window", "summary: 6 windows closed", "every window complete and consistent"} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	// One line per window and skill, each naming its skill first.
	lines := 0
	for _, l := range strings.Split(got, "\n") {
		f := strings.Fields(l)
		if len(f) == 11 && (f[0] == "3" || f[0] == "7") {
			lines++
		}
	}
	if lines != 6 {
		t.Errorf("demo printed %d window lines, want 6:\n%s", lines, got)
	}
}
