package ops

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/health"
)

// /readyz and /metrics over a health tracker, as the service wires them: a
// skill whose every window fails turns /readyz to 503 naming the skill and
// the error, and its age grows between two scrapes with nothing else
// happening.
func TestReadyzAndMetricsFromTheHealthTracker(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	tracker := health.New(clk, []string{"12"}, 5*time.Minute, time.Minute)
	reg := prometheus.NewRegistry()
	reg.MustRegister(tracker)
	srv := New("", reg, func(context.Context) error { return tracker.Ready() }, zerolog.Nop())
	get, stop := serve(t, srv)
	defer func() { _ = stop() }()

	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz at the start = %d %q", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, `skill6pub_freshness_seconds{skill="12"} 0`) {
		t.Errorf("/metrics at the start lacks the freshness of skill 12:\n%s", body)
	}
	for attempt := 1; attempt <= 12; attempt++ {
		clk.Advance(time.Minute)
		tracker.Failed("12", start.Add(-5*time.Minute), errors.New("wolkvox skill_6: auth (HTTP 403): wolkvox rejected the token"), attempt)
	}
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "skill 12: nothing published in the 12m0s since the start") ||
		!strings.Contains(body, "failed 12 times, last: wolkvox skill_6: auth (HTTP 403)") {
		t.Errorf("/readyz = %d %q, want 503 naming skill 12 and the error", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, `skill6pub_freshness_seconds{skill="12"} 720`) {
		t.Errorf("/metrics lacks freshness 720 for skill 12:\n%s", body)
	}
	clk.Advance(11 * time.Second)
	if _, body := get("/metrics"); !strings.Contains(body, `skill6pub_freshness_seconds{skill="12"} 731`) {
		t.Errorf("a scrape 11 s later: /metrics lacks freshness 731 for skill 12:\n%s", body)
	}
}
