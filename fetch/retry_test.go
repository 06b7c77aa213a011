package fetch_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/metrics"
)

type result struct {
	rep fetch.Report
	err error
}

// fetchAsync runs one Fetch of a window of day in the background.
func fetchAsync(ctx context.Context, c *fetch.Client) <-chan result {
	done := make(chan result, 1)
	go func() {
		start := day.Add(10 * time.Hour)
		rep, err := c.Fetch(ctx, "1", start, start.Add(5*time.Minute))
		done <- result{rep, err}
	}()
	return done
}

func TestRetriesWithBackoffOnTheClock(t *testing.T) {
	for _, f := range []wolkvoxsim.Fault{wolkvoxsim.FaultBusy, wolkvoxsim.FaultMaintenance, wolkvoxsim.Fault500} {
		sim, srv := startSim(t, wolkvoxsim.Config{})
		sim.Inject(f, 3)
		cfg := config(wolkvoxsim.URL(srv.URL))
		cfg.MaxAttempts = 4
		fake := clock.NewFake(now)
		c := newClient(t, cfg, fetch.WithClock(fake), fetch.WithBackoff(time.Second, 3*time.Second))
		ctx := testCtx(t)
		done := fetchAsync(ctx, c)
		// Full jitter: before try n+1 the wait is at most min(max, base*2^(n-1)).
		for try, ceiling := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
			if err := fake.WaitForSleepers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			wake, _ := fake.NextWake()
			if wait := wake.Sub(fake.Now()); wait < 0 || wait > ceiling {
				t.Errorf("%v: wait %v after try %d, want at most %v", f, wait, try+1, ceiling)
			}
			if got := sim.Stats().Requests; got != try+1 {
				t.Errorf("%v: %d requests before wait %d", f, got, try+1)
			}
			fake.Set(wake)
		}
		r := <-done
		if r.err != nil || len(r.rep.Rows) == 0 {
			t.Errorf("%v: after the faults: %d rows, %v", f, len(r.rep.Rows), r.err)
		}
		if c.CallsToday() != 4 {
			t.Errorf("%v: CallsToday %d, want every try counted", f, c.CallsToday())
		}
	}
}

func TestRetriesGiveUp(t *testing.T) {
	sim, srv := startSim(t, wolkvoxsim.Config{})
	sim.Inject(wolkvoxsim.Fault500, 10)
	cfg := config(wolkvoxsim.URL(srv.URL))
	cfg.MaxAttempts = 3
	c := newClient(t, cfg, fetch.WithClock(clock.NewAutoFake(now)))
	r := <-fetchAsync(t.Context(), c)
	if !errors.Is(r.err, fetch.KindUpstream) || !strings.Contains(r.err.Error(), "gave up after 3 tries") {
		t.Errorf("after 3 failed tries: %v", r.err)
	}
	if got := sim.Stats().Requests; got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
}

func TestNoRetryForFinalKinds(t *testing.T) {
	for _, f := range []wolkvoxsim.Fault{wolkvoxsim.FaultQuota, wolkvoxsim.FaultUnauthorized, wolkvoxsim.FaultInvalidToken,
		wolkvoxsim.FaultTruncated, wolkvoxsim.FaultWrongTypes, wolkvoxsim.FaultNotJSON} {
		sim, srv := startSim(t, wolkvoxsim.Config{})
		sim.Inject(f, 1)
		cfg := config(wolkvoxsim.URL(srv.URL))
		cfg.MaxAttempts = 5
		fake := clock.NewFake(now) // never advanced: a retry would hang the test
		c := newClient(t, cfg, fetch.WithClock(fake))
		r := <-fetchAsync(testCtx(t), c)
		var fe *fetch.Error
		if !errors.As(r.err, &fe) || fe.Retriable() || sim.Stats().Requests != 1 {
			t.Errorf("%v: %v after %d requests", f, r.err, sim.Stats().Requests)
		}
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"code":200,"data":[]}`))
	}))
	defer srv.Close()
	cfg := config(srv.URL + fetch.Path)
	cfg.MaxAttempts = 2
	fake := clock.NewFake(now)
	c := newClient(t, cfg, fetch.WithClock(fake))
	ctx := testCtx(t)
	done := fetchAsync(ctx, c)
	if err := fake.WaitForSleepers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	wake, _ := fake.NextWake()
	if wait := wake.Sub(fake.Now()); wait != 120*time.Second {
		t.Errorf("waited %v, want the 120s of Retry-After", wait)
	}
	fake.Set(wake)
	if r := <-done; r.err != nil {
		t.Error(r.err)
	}
}

func TestBackoffJitterIsReproducible(t *testing.T) {
	waits := func() []time.Duration {
		sim, srv := startSim(t, wolkvoxsim.Config{})
		sim.Inject(wolkvoxsim.Fault500, 6)
		cfg := config(wolkvoxsim.URL(srv.URL))
		cfg.MaxAttempts = 7
		fake := clock.NewFake(now)
		c := newClient(t, cfg, fetch.WithClock(fake), fetch.WithRand(rand.New(rand.NewPCG(1, 2))),
			fetch.WithBackoff(100*time.Millisecond, 2*time.Second))
		ctx := testCtx(t)
		done := fetchAsync(ctx, c)
		var got []time.Duration
		for range 6 {
			if err := fake.WaitForSleepers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			wake, _ := fake.NextWake()
			got = append(got, wake.Sub(fake.Now()))
			fake.Set(wake)
		}
		if r := <-done; r.err != nil {
			t.Fatal(r.err)
		}
		return got
	}
	a, b := waits(), waits()
	for i := range a {
		ceiling := min(2*time.Second, 100*time.Millisecond<<i)
		if a[i] != b[i] || a[i] > ceiling {
			t.Errorf("wait %d: %v and %v, want equal and at most %v", i+1, a[i], b[i], ceiling)
		}
	}
}

func TestFetchStopsWhenContextEnds(t *testing.T) {
	// While waiting to try again.
	sim, srv := startSim(t, wolkvoxsim.Config{})
	sim.Inject(wolkvoxsim.Fault500, 1)
	cfg := config(wolkvoxsim.URL(srv.URL))
	cfg.MaxAttempts = 5
	fake := clock.NewFake(now)
	c := newClient(t, cfg, fetch.WithClock(fake))
	ctx, cancel := context.WithCancel(testCtx(t))
	done := fetchAsync(ctx, c)
	if err := fake.WaitForSleepers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	r := <-done
	if !errors.Is(r.err, fetch.KindCanceled) || !errors.Is(r.err, context.Canceled) || !strings.Contains(r.err.Error(), "failed to answer") {
		t.Errorf("canceled during backoff: %v", r.err)
	}
	if sim.Stats().Requests != 1 {
		t.Errorf("%d requests", sim.Stats().Requests)
	}

	// Before it starts.
	r = <-fetchAsync(ctx, c)
	if !errors.Is(r.err, fetch.KindCanceled) || sim.Stats().Requests != 1 {
		t.Errorf("canceled before: %v", r.err)
	}

	// During a request that hangs.
	sim.Inject(wolkvoxsim.FaultHang, 1)
	short, cancelShort := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancelShort()
	r = <-fetchAsync(short, c)
	if !errors.Is(r.err, fetch.KindCanceled) || !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("caller's deadline during a hang: %v", r.err)
	}
}

func TestFetchCallTimeout(t *testing.T) {
	sim, srv := startSim(t, wolkvoxsim.Config{})
	sim.Inject(wolkvoxsim.FaultHang, 1)
	cfg := config(wolkvoxsim.URL(srv.URL))
	cfg.Timeout = 100 * time.Millisecond
	c := newClient(t, cfg)
	r := <-fetchAsync(testCtx(t), c)
	var fe *fetch.Error
	if !errors.As(r.err, &fe) || fe.Kind != fetch.KindUpstream || !strings.Contains(fe.Msg, "no complete answer within 100ms") ||
		errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("hang past the call timeout: %v", r.err)
	}
}

func TestFetchNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + fetch.Path
	srv.Close()
	c := newClient(t, config(url))
	r := <-fetchAsync(testCtx(t), c)
	if !errors.Is(r.err, fetch.KindUpstream) || !strings.Contains(r.err.Error(), "network error") || !strings.Contains(r.err.Error(), "refused") {
		t.Errorf("closed server: %v", r.err)
	}
}

func TestCallsTodayAndMetrics(t *testing.T) {
	sim, srv := startSim(t, wolkvoxsim.Config{})
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	fake := clock.NewFake(time.Date(2025, 6, 1, 23, 58, 0, 0, bogota))
	cfg := config(wolkvoxsim.URL(srv.URL))
	cfg.MaxAttempts = 2
	c := newClient(t, cfg, fetch.WithClock(fake), fetch.WithMetrics(m))
	ctx := testCtx(t)
	start := day.Add(10 * time.Hour)
	window := func() (fetch.Report, error) { return c.Fetch(ctx, "1", start, start.Add(5*time.Minute)) }

	if _, err := window(); err != nil {
		t.Fatal(err)
	}
	sim.Inject(wolkvoxsim.FaultQuota, 1)
	if _, err := window(); !errors.Is(err, fetch.KindQuota) {
		t.Fatal(err)
	}
	if c.CallsToday() != 2 || testutil.ToFloat64(m.CallsToday) != 2 {
		t.Errorf("CallsToday %d, gauge %v", c.CallsToday(), testutil.ToFloat64(m.CallsToday))
	}
	// Midnight in Bogota starts a new count (it is 04:58 UTC).
	fake.Advance(3 * time.Minute)
	if c.CallsToday() != 0 {
		t.Errorf("after midnight: CallsToday %d", c.CallsToday())
	}
	sim.Inject(wolkvoxsim.Fault500, 1)
	done := make(chan error)
	go func() { _, err := window(); done <- err }()
	if err := fake.WaitForSleepers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	wake, _ := fake.NextWake()
	fake.Set(wake)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c.CallsToday() != 2 || testutil.ToFloat64(m.CallsToday) != 2 {
		t.Errorf("next day: CallsToday %d, gauge %v", c.CallsToday(), testutil.ToFloat64(m.CallsToday))
	}
	for outcome, want := range map[string]float64{"ok": 2, "quota": 1, "upstream": 1} {
		if got := testutil.ToFloat64(m.FetchOutcomes.WithLabelValues("1", outcome)); got != want {
			t.Errorf("fetch_total{outcome=%s} = %v, want %v", outcome, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.FetchDuration); n != 3 {
		t.Errorf("%d duration series, want one per outcome", n)
	}
}
