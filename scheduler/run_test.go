package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
)

// bogota returns a time of the test zone.
func (h *harness) at(hour, minute, second int) time.Time {
	return time.Date(2026, 5, 4, hour, minute, second, 0, h.loc)
}

// seed stores a live state whose last published window is w.
func (h *harness) seed(t testing.TB, skill string, w Window) {
	t.Helper()
	cur := snapshot.Window{Operation: testOperation, SkillID: skill, Start: w.Start, End: w.End, Report: reportFor(skill, w.Start, 0)}
	out := snapshot.Diff(nil, cur)
	if err := h.store.Save(state.State{Key: liveKey(skill), Windows: []snapshot.Snapshot{out.Snapshot}}); err != nil {
		t.Fatal(err)
	}
	h.store.saves = nil
}

func TestRunStartsAtTheLatestCompleteWindowAndWaitsForTheNext(t *testing.T) {
	fake := clock.NewFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	fake.Set(h.at(9, 7, 30))
	stop := h.run(t)

	ctx := t.Context()
	if err := fake.WaitForSleepers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Fresh start: 09:00-09:05 was due at 09:06; 09:05-09:10 is due at 09:11.
	pubs := h.pub.list()
	if len(pubs) != 1 || !pubs[0].start.Equal(h.at(9, 0, 0)) || pubs[0].previousKnown {
		t.Fatalf("after start: %+v, want 09:00 without a previous window", pubs)
	}
	if wake, _ := fake.NextWake(); !wake.Equal(h.at(9, 11, 0)) {
		t.Fatalf("sleeps until %s, want 09:11:00 (end + SETTLE_DELAY)", wake)
	}
	fake.Set(h.at(9, 10, 59))
	if err := fake.WaitForSleepers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(h.pub.list()); n != 1 {
		t.Fatalf("published %d windows before the next was due", n)
	}
	fake.Set(h.at(9, 11, 0))
	if err := fake.WaitForSleepers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if wake, _ := fake.NextWake(); !wake.Equal(h.at(9, 16, 0)) {
		t.Fatalf("sleeps until %s, want 09:16:00", wake)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	pubs = h.pub.list()
	assertContiguous(t, h.s.Calendar(), pubs, h.s.Calendar().WindowAt(h.at(9, 0, 0)))
	if len(pubs) != 2 || !pubs[1].previousKnown {
		t.Fatalf("publications = %+v, want 09:00 and 09:05 diffed against 09:00", pubs)
	}
	st, _ := h.store.get(liveKey("12"))
	if last, _ := st.Last(); !last.WindowEnd.Equal(h.at(9, 10, 0)) {
		t.Errorf("state ends at %s, want 09:10", last.WindowEnd)
	}
	lastEnd := fmt.Sprintf(`
# HELP skill6pub_last_published_window_end_seconds End of the last published window, Unix seconds, by skill (absent until one is known).
# TYPE skill6pub_last_published_window_end_seconds gauge
skill6pub_last_published_window_end_seconds{skill="12"} %g
`, float64(h.at(9, 10, 0).Unix()))
	if err := testutil.CollectAndCompare(h.deps.Health, strings.NewReader(lastEnd), "skill6pub_last_published_window_end_seconds"); err != nil {
		t.Errorf("the health tracker did not hear of the last window published: %v", err)
	}
}

// A window that fails again and again escalates from warn to error once it
// is older than the readiness limit, saying how old; meanwhile the health
// tracker names the skill and the error, so /readyz fails with them.
func TestRunEscalatesAWindowThatKeepsFailing(t *testing.T) {
	fake := clock.NewAutoFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	cal := h.s.Calendar()
	fake.Set(h.at(9, 6, 0))
	failing := cal.WindowAt(h.at(9, 10, 0))
	h.fetcher.fail = func(c fetchCall, attempt int) error {
		if c.start.Equal(failing.Start) && attempt <= 20 {
			return &fetch.Error{Kind: fetch.KindUpstream, Msg: "HTTP 502"}
		}
		return nil
	}
	var readiness error
	h.fetcher.before = func(_ context.Context, c fetchCall) {
		if c.start.Equal(failing.Start) && h.fetcher.callsFor("12", failing.Start) == 20 {
			readiness = h.deps.Health.Ready()
		}
	}
	if err := h.runUntil(t, func(_ publication, n int) bool { return n == 3 }); err != nil {
		t.Fatal(err)
	}
	if readiness == nil || !strings.Contains(readiness.Error(), "skill 12: ") || !strings.Contains(readiness.Error(), "HTTP 502") {
		t.Errorf("readiness while the window kept failing = %v, want skill 12 and the error", readiness)
	}
	var levels []string
	for _, l := range h.logs.withMessage(t, "window") {
		if l["attempt"] == nil {
			continue
		}
		levels = append(levels, l["level"].(string))
		if l["level"] == "error" && !strings.Contains(l["message"].(string), "window keeps failing") {
			t.Errorf("error line %v does not say the window keeps failing", l)
		}
	}
	if len(levels) != 20 || levels[0] != "warn" || levels[19] != "error" {
		t.Errorf("levels of the 20 failures = %v, want warn escalating to error", levels)
	}
}

func TestRunCatchesUpEveryMissedWindowInOrder(t *testing.T) {
	fake := clock.NewFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	cal := h.s.Calendar()
	h.seed(t, "12", cal.WindowAt(h.at(5, 55, 0))) // down since 06:00
	fake.Set(h.at(9, 7, 30))
	h.runUntilIdle(t, fake)
	pubs := h.pub.list()
	assertContiguous(t, cal, pubs, cal.WindowAt(h.at(6, 0, 0)))
	if len(pubs) != 37 { // 06:00 to 09:00 inclusive
		t.Fatalf("caught up %d windows, want 37", len(pubs))
	}
	saves := h.store.commits()
	if len(saves) != len(pubs) {
		t.Fatalf("%d saves for %d windows", len(saves), len(pubs))
	}
	for i, p := range pubs {
		if !p.previousKnown {
			t.Errorf("window %s was not diffed against the one before", p.start)
		}
		last, _ := saves[i].Last()
		if !last.WindowStart.Equal(p.start) || len(saves[i].Windows) != 1 {
			t.Errorf("save %d: last window %s (%d kept), want %s (1 kept)", i, last.WindowStart, len(saves[i].Windows), p.start)
		}
	}
	if got := testutil.ToFloat64(h.metrics.WindowsBehind.WithLabelValues("12")); got != 0 {
		t.Errorf("windows behind = %v after catching up", got)
	}
}

// runOverAGap runs the live stream of skill 12, last published at 05:55, at
// 09:07:30 with MAX_CATCHUP of an hour: the latest complete window is
// 09:00-09:05, one hour back from its end is 08:05, so it publishes 08:05 to
// 09:00 and leaves 06:00-08:05 to backfill. The seeded state is one saved
// before the published spans were kept.
func runOverAGap(t *testing.T) *harness {
	t.Helper()
	fake := clock.NewFake(time.Time{})
	cfg := testConfig("12")
	cfg.MaxCatchup = time.Hour
	h := newHarness(t, cfg, fake)
	h.seed(t, "12", h.s.Calendar().WindowAt(h.at(5, 55, 0)))
	fake.Set(h.at(9, 7, 30))
	h.runUntilIdle(t, fake)
	return h
}

func TestRunLeavesAGapBeyondMaxCatchupToBackfill(t *testing.T) {
	h := runOverAGap(t)
	cal := h.s.Calendar()
	pubs := h.pub.list()
	assertContiguous(t, cal, pubs, cal.WindowAt(h.at(8, 5, 0)))
	if len(pubs) != 12 || pubs[0].previousKnown || !pubs[1].previousKnown {
		t.Fatalf("published %d windows (first diffed: %v), want 12 from 08:05, the first without a previous window", len(pubs), pubs[0].previousKnown)
	}
	gaps := h.logs.withMessage(t, "older than MAX_CATCHUP")
	if len(gaps) != 1 {
		t.Fatalf("gap logged %d times, want once", len(gaps))
	}
	want := "skill6pub backfill --from 2026-05-04T06:00:00-05:00 --to 2026-05-04T08:05:00-05:00 --skills 12"
	if gaps[0]["backfill"] != want || !strings.Contains(gaps[0]["message"].(string), want) || gaps[0]["gap_windows"] != float64(25) {
		t.Errorf("gap line = %v, want the command %q and 25 windows", gaps[0], want)
	}
	if gaps[0]["skill"] != "12" || gaps[0]["window_start"] == nil {
		t.Errorf("gap line lacks skill or window_start: %v", gaps[0])
	}
	if got := testutil.ToFloat64(h.metrics.CatchupGaps.WithLabelValues("12")); got != 25 {
		t.Errorf("catch-up gap counter = %v, want 25", got)
	}
}

func TestFailingWindowBlocksLaterWindowsThenRecovers(t *testing.T) {
	tests := []struct {
		name       string
		fetchErr   error
		publishErr error
		failures   int
		wantDelays []float64 // milliseconds, as logged
		wantLevel  string
		wantCalls  int // fetches of the failing window
	}{
		{"transient fetch error", &fetch.Error{Kind: fetch.KindUpstream, Msg: "HTTP 502"}, nil, 4, []float64{2000, 4000, 8000, 16000}, "warn", 5},
		{"quota spent", &fetch.Error{Kind: fetch.KindQuota, Msg: "TOKEN LIMIT EXCEEDED"}, nil, 5, []float64{60000, 120000, 240000, 300000, 300000}, "error", 6},
		{"publish fails", nil, errors.New("kafka: not enough replicas"), 3, []float64{2000, 4000, 8000}, "warn", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := clock.NewAutoFake(time.Time{})
			h := newHarness(t, testConfig("12"), fake)
			cal := h.s.Calendar()
			fake.Set(h.at(9, 6, 0))
			failing := cal.WindowAt(h.at(9, 10, 0))
			if tt.fetchErr != nil {
				h.fetcher.fail = func(c fetchCall, attempt int) error {
					if c.start.Equal(failing.Start) && attempt <= tt.failures {
						return fmt.Errorf("wrapped: %w", tt.fetchErr)
					}
					return nil
				}
			}
			if tt.publishErr != nil {
				h.pub.fail = func(p publication, attempt int) error {
					if p.start.Equal(failing.Start) && attempt <= tt.failures {
						return tt.publishErr
					}
					return nil
				}
			}
			var jumped []time.Time // later windows fetched while the failing one was not published
			h.fetcher.before = func(_ context.Context, c fetchCall) {
				if c.start.After(failing.Start) && len(h.pub.list()) < 3 {
					jumped = append(jumped, c.start)
				}
			}
			if err := h.runUntil(t, func(_ publication, n int) bool { return n == 6 }); err != nil {
				t.Fatal(err)
			}
			assertContiguous(t, cal, h.pub.list(), cal.WindowAt(h.at(9, 0, 0)))
			if jumped != nil {
				t.Errorf("windows %v were fetched while %s was still failing", jumped, failing.Start)
			}
			if got := h.fetcher.callsFor("12", failing.Start); got != tt.wantCalls {
				t.Errorf("failing window fetched %d times, want %d", got, tt.wantCalls)
			}
			var delays []float64
			for _, l := range h.logs.withMessage(t, "window failed") {
				delays = append(delays, l["retry_in"].(float64))
				if l["level"] != tt.wantLevel || l["skill"] != "12" || l["window_start"] != "2026-05-04T09:10:00-05:00" || l["error"] == nil {
					t.Errorf("failure line = %v, want level %s with skill, window_start and error", l, tt.wantLevel)
				}
			}
			if fmt.Sprint(delays) != fmt.Sprint(tt.wantDelays) {
				t.Errorf("retry delays = %v ms, want %v", delays, tt.wantDelays)
			}
		})
	}
}

// newRevisingHarness returns a harness of skill 12 with REVISE_WINDOWS=2 at
// 09:06, and the window of each minute of 09:00 to 09:59.
func newRevisingHarness(t *testing.T) (*harness, func(minute int) Window) {
	t.Helper()
	fake := clock.NewAutoFake(time.Time{})
	cfg := testConfig("12")
	cfg.ReviseWindows = 2
	h := newHarness(t, cfg, fake)
	fake.Set(h.at(9, 6, 0))
	cal := h.s.Calendar()
	return h, func(minute int) Window { return cal.WindowAt(h.at(9, minute, 0)) }
}

func TestRevisionsRepublishChangedWindowsOnly(t *testing.T) {
	h, w := newRevisingHarness(t)
	var revisedAt int
	h.pub.before = func(_ context.Context, p publication) error {
		// Late data for 09:05 arrives once 09:10 is out.
		if p.revision == 0 && p.start.Equal(w(10).Start) {
			h.fetcher.bump("12", w(5).Start)
		}
		return nil
	}
	err := h.runUntil(t, func(p publication, n int) bool {
		if p.revision > 0 {
			revisedAt = n
		}
		return n == 8
	})
	if err != nil {
		t.Fatal(err)
	}
	var live, revisions []publication
	for _, p := range h.pub.list() {
		if p.revision == 0 {
			live = append(live, p)
		} else {
			revisions = append(revisions, p)
		}
	}
	assertContiguous(t, h.s.Calendar(), live, w(0))
	if len(revisions) != 1 || !revisions[0].start.Equal(w(5).Start) || revisions[0].revision != 1 || !revisions[0].closedLast {
		t.Fatalf("revisions = %+v, want one, of 09:05, revision 1", revisions)
	}
	if revisedAt != 4 { // 09:00, 09:05, 09:10, then the revision of 09:05 before 09:15
		t.Errorf("the revision was publication %d, want 4", revisedAt)
	}
	for _, p := range live {
		if !p.start.Equal(w(5).Start) {
			continue
		}
		for dnis, id := range revisions[0].ids {
			if p.ids[dnis] == id {
				t.Errorf("the revision reuses the event id %s of revision 0 for DNIS %s", id, dnis)
			}
		}
	}
	// Each tick fetches the new window and re-fetches up to two before it.
	if got, want := h.fetcher.callsFor("12", w(5).Start), 3; got != want {
		t.Errorf("09:05 fetched %d times, want %d (live + 2 revision passes)", got, want)
	}
	st, _ := h.store.get(liveKey("12"))
	if len(st.Windows) != 3 {
		t.Fatalf("state keeps %d windows, want REVISE_WINDOWS+1 = 3", len(st.Windows))
	}
	for _, saved := range h.store.commits() {
		for _, snap := range saved.Windows {
			if snap.WindowStart.Equal(w(5).Start) && snap.Revision == 1 {
				return // the revised snapshot was committed
			}
		}
	}
	t.Error("the revised snapshot of 09:05 was never saved")
}

// TestRunDaysOfWindows runs three days of two skills across a daylight
// saving change in milliseconds. The clock moves an hour at a time once
// both skills sleep, so each catches up twelve windows side by side.
func TestRunDaysOfWindows(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	fake := clock.NewFake(time.Time{})
	h := newHarness(t, testConfig("12", "15"), fake, func(d *Deps) { d.Location = ny })
	cal := h.s.Calendar()
	first := cal.WindowAt(time.Date(2026, 3, 7, 0, 0, 0, 0, ny))
	last := cal.WindowAt(time.Date(2026, 3, 10, 0, 0, 0, 0, ny).Add(-time.Minute))
	before := cal.WindowAt(first.Start.Add(-time.Minute))
	h.seed(t, "12", before)
	h.seed(t, "15", before)
	fake.Set(cal.Due(first))
	stop := h.run(t)
	reached := func(skill string) bool {
		p := h.pub.of(skill)
		return len(p) > 0 && !p[len(p)-1].start.Before(last.Start)
	}
	for {
		if err := fake.WaitForSleepers(t.Context(), 2); err != nil {
			t.Fatal(err)
		}
		if reached("12") && reached("15") {
			break
		}
		fake.Advance(time.Hour)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	want := cal.Count(first.Start, last.End)
	if want != 288+276+288 {
		t.Fatalf("three days around the change have %d windows", want)
	}
	for _, skill := range []string{"12", "15"} {
		pubs := h.pub.of(skill)
		assertContiguous(t, cal, pubs, first)
		if len(pubs) < want {
			t.Fatalf("skill %s: %d windows published, want at least %d", skill, len(pubs), want)
		}
		var saves []state.State
		for _, s := range h.store.commits() {
			if s.Key.SkillID == skill {
				saves = append(saves, s)
			}
		}
		if len(saves) != len(pubs) {
			t.Fatalf("skill %s: %d saves for %d windows", skill, len(saves), len(pubs))
		}
		for i, s := range saves {
			if l, _ := s.Last(); !l.WindowStart.Equal(pubs[i].start) {
				t.Fatalf("skill %s: save %d holds %s, want %s", skill, i, l.WindowStart, pubs[i].start)
			}
		}
	}
	for _, l := range h.logs.lines(t) {
		if strings.Contains(l["message"].(string), "budget") {
			continue
		}
		if l["skill"] == nil || l["window_start"] == nil {
			t.Errorf("log line without skill and window_start: %v", l)
		}
	}
}

func TestShutdownFinishesTheWindowInFlight(t *testing.T) {
	fake := clock.NewFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	fake.Set(h.at(9, 7, 30))
	publishing, release := make(chan struct{}), make(chan struct{})
	h.pub.before = func(ctx context.Context, _ publication) error {
		close(publishing)
		<-release
		return ctx.Err() // the window's context must outlive the shutdown
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.s.Run(ctx) }()
	<-publishing
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	st, ok := h.store.get(liveKey("12"))
	if last, _ := st.Last(); !ok || !last.WindowStart.Equal(h.at(9, 0, 0)) {
		t.Fatalf("the window in flight was not committed: %+v", st)
	}
	if n := len(h.pub.list()); n != 1 {
		t.Errorf("%d windows published, want 1", n)
	}
}

func TestShutdownGraceEndsAWindowThatCannotFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := clock.NewFake(time.Time{})
		h := newHarness(t, testConfig("12"), fake, func(d *Deps) { d.ShutdownGrace = 10 * time.Second })
		fake.Set(h.at(9, 7, 30))
		publishing := make(chan struct{})
		h.pub.before = func(ctx context.Context, _ publication) error {
			close(publishing)
			<-ctx.Done() // Kafka never answers
			return ctx.Err()
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- h.s.Run(ctx) }()
		<-publishing
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if saves := h.store.commits(); len(saves) != 0 {
			t.Fatalf("a window that was not acknowledged was committed: %+v", saves)
		}
		if lines := h.logs.withMessage(t, "before the window in flight was committed"); len(lines) != 1 {
			t.Errorf("the uncommitted window was not logged")
		}
	})
}

func TestAnEmptyReFetchDoesNotWipeAPublishedWindow(t *testing.T) {
	h, w := newRevisingHarness(t)
	// 09:05 has rows when published; every re-fetch of it answers "no data".
	h.fetcher.empty = func(c fetchCall, attempt int) bool { return c.start.Equal(w(5).Start) && attempt > 1 }
	if err := h.runUntil(t, func(_ publication, n int) bool { return n == 6 }); err != nil {
		t.Fatal(err)
	}
	for _, p := range h.pub.list() {
		if p.revision > 0 {
			t.Errorf("published revision %d of %s from an empty re-fetch", p.revision, p.start)
		}
	}
	if got := h.fetcher.callsFor("12", w(5).Start); got < 2 {
		t.Fatalf("09:05 fetched %d times: the re-fetch never happened", got)
	}
	st, _ := h.store.get(liveKey("12"))
	for _, snap := range st.Windows {
		if snap.WindowStart.Equal(w(5).Start) && len(snap.Rows) == 0 {
			t.Error("the stored snapshot of 09:05 lost its rows")
		}
	}
}

// TestARevisionGivesTheNextWindowTheGoneItMakesDue: late data adds a caller
// to 09:00 after 09:05 went out without it. The revision of 09:00 adds the
// DNIS, and 09:05, compared with 09:00 before it had it, gets a revision of
// its own with that DNIS's dnis_gone: a consumer that keeps each key's
// newest window and deletes on dnis_gone does not keep it for ever.
func TestARevisionGivesTheNextWindowTheGoneItMakesDue(t *testing.T) {
	h, w := newRevisingHarness(t)
	const late = "57300129999"
	h.pub.before = func(_ context.Context, p publication) error {
		if p.revision == 0 && p.start.Equal(w(5).Start) {
			h.fetcher.addRow("12", w(0).Start, fetch.Row{DNIS: late, Metrics: schema.Metrics{InboundCalls: schema.IntOf(1)}})
		}
		return nil
	}
	if err := h.runUntil(t, func(p publication, n int) bool { return p.revision > 0 && p.start.Equal(w(5).Start) || n == 20 }); err != nil {
		t.Fatal(err)
	}
	var revisedW, followed *publication
	for _, p := range h.pub.list() {
		switch {
		case p.revision == 1 && p.start.Equal(w(0).Start):
			revisedW = &p
		case p.revision == 1 && p.start.Equal(w(5).Start):
			followed = &p
		}
	}
	if revisedW == nil || !strings.Contains(revisedW.records, `"dnis":"`+late+`"`) {
		t.Fatalf("no revision of 09:00 with the late caller")
	}
	if followed == nil || !strings.Contains(followed.records, `"event_type":"dnis_gone"`) || !strings.Contains(followed.records, `"dnis":"`+late+`"`) {
		t.Fatalf("09:05 got no revision with the late caller's dnis_gone")
	}
	if lines := h.logs.withMessage(t, "published a revision"); len(lines) == 0 || lines[0]["next_window_revised"] != true {
		t.Errorf("the revision's log line %v does not say the next window was revised too", lines)
	}
	st, _ := h.store.get(liveKey("12"))
	for _, snap := range st.Windows {
		if snap.WindowStart.Equal(w(5).Start) && snap.Revision != 1 {
			t.Errorf("09:05 is at revision %d in the state, want 1", snap.Revision)
		}
	}
	assertOneContentPerID(t, h.pub.list())
}
