package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/state"
)

// BenchmarkBackfillAgainstTheAPIBound backfills a day of one skill (288
// windows) with a fetch that takes fetchLatency and a publish that takes
// publishLatency, both real waits, and reports the wall time over the API
// bound: x_api_bound over windows x fetchLatency, x_fetch_time over the time
// actually spent in fetches (timers overshoot on a busy machine). Both are
// close to 1 when fetches overlap publishes, and near 1 +
// publishLatency/fetchLatency (1.7) when they do not.
func BenchmarkBackfillAgainstTheAPIBound(b *testing.B) {
	const (
		fetchLatency   = 5 * time.Millisecond
		publishLatency = 3500 * time.Microsecond
		windows        = 288
	)
	h := newHarness(b, testConfig("12"), clock.NewFake(time.Time{}))
	from := time.Date(2026, 5, 4, 0, 0, 0, 0, h.loc)
	to := from.Add(24 * time.Hour)
	h.clock.(*clock.Fake).Set(to.Add(time.Hour))
	var fetching time.Duration // only the fetch stage writes it
	h.fetcher.before = func(ctx context.Context, _ fetchCall) {
		start := time.Now()
		_ = clock.Real{}.Sleep(ctx, fetchLatency)
		fetching += time.Since(start)
	}
	h.pub.before = func(ctx context.Context, _ publication) error { return clock.Real{}.Sleep(ctx, publishLatency) }
	var wall time.Duration
	for b.Loop() {
		h.store.mu.Lock()
		h.store.states, h.store.saves = map[state.Key]state.State{}, nil
		h.store.mu.Unlock()
		start := time.Now()
		if err := h.s.Backfill(b.Context(), from, to, nil, nil); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
	}
	bound := time.Duration(b.N) * windows * fetchLatency
	b.ReportMetric(float64(wall)/float64(bound), "x_api_bound")
	b.ReportMetric(float64(wall)/float64(fetching), "x_fetch_time")
}

// BenchmarkWindowAt measures the alignment of one instant in a zone with
// daylight saving time.
func BenchmarkWindowAt(b *testing.B) {
	cal := Calendar{Interval: 5 * time.Minute, Location: mustLoad(b, "America/New_York")}
	t := time.Date(2026, 3, 8, 1, 57, 0, 0, time.UTC)
	for b.Loop() {
		cal.WindowAt(t)
	}
}
