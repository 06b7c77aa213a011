package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/internal/syncbuf"
)

func TestDemoRunsToCompletion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncbuf.Buffer
	opts := demoOptions{windows: 12, skills: []string{"3", "7"}, speed: 1500, callers: 30, logLevel: "warn"}
	done := make(chan error, 1)
	go func() { done <- demo(ctx, opts, &out, io.Discard) }()

	// The demo serves /metrics on a free port, which it prints.
	metricsURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+/metrics`)
	var url string
	for url == "" {
		select {
		case err := <-done:
			t.Fatalf("demo ended (%v) before printing where /metrics is:\n%s", err, out.String())
		default:
		}
		url = metricsURL.FindString(out.String())
		time.Sleep(5 * time.Millisecond) // polling the demo's output
	}
	// The ages are the active replica's: they show once the demo's one
	// replica is elected.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `skill6pub_freshness_seconds{skill="3"}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks the freshness of skill 3 after 30s:\n%.2000s", url, body)
		}
		time.Sleep(5 * time.Millisecond) // polling the demo's metrics
	}

	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"state topic        wolkvox.skill6.dnis-service-level.state", "skill  window", "summary: 24 windows closed", "every window complete and consistent"} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	// One line per window and skill, each naming its skill first; every
	// line fits an 80-column terminal.
	lines := 0
	for _, l := range strings.Split(got, "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("a line of %d columns: %q", len([]rune(l)), l)
		}
		f := strings.Fields(l)
		if len(f) == 11 && (f[0] == "3" || f[0] == "7") {
			lines++
		}
	}
	if lines != 24 {
		t.Errorf("demo printed %d window lines, want 24:\n%s", lines, got)
	}
}
