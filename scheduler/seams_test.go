package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/window"
)

// The tests of this file hold the cases of issue 13: seams between
// commands, configuration changes and gaps where a window was skipped
// silently or an event id went out with two contents.

// restartWith returns a harness with a new Scheduler of cfg over the same
// fakes: a process restarted with another configuration.
func (h *harness) restartWith(t testing.TB, cfg Config) *harness {
	t.Helper()
	next := *h
	next.cfg = cfg
	s, err := New(cfg, next.deps)
	if err != nil {
		t.Fatal(err)
	}
	next.s = s
	return &next
}

// assertOneContentPerID fails when an event id went out with two different
// records across pubs.
func assertOneContentPerID(t testing.TB, pubs []publication) {
	t.Helper()
	seen := map[string]string{}
	for _, p := range pubs {
		for _, line := range strings.Split(strings.TrimSpace(p.records), "\n") {
			key, value, _ := strings.Cut(line, " ")
			value = strings.TrimSuffix(value, " <nil>")
			var head struct {
				EventID      string `json:"event_id"`
				DeadLetterID string `json:"dead_letter_id"`
			}
			if err := json.Unmarshal([]byte(value), &head); err != nil {
				t.Fatalf("record of %s is not JSON: %s", key, value)
			}
			id := head.EventID + head.DeadLetterID
			if before, ok := seen[id]; ok && before != value {
				t.Fatalf("event id %s went out with two contents:\n%s\n%s", id, before, value)
			}
			seen[id] = value
		}
	}
}

// publishedAtFiveMinutesThenHourly publishes 08:00-08:05 at INTERVAL=5m and
// returns the scheduler restarted at 10:30 with INTERVAL=1h.
func publishedAtFiveMinutesThenHourly(t *testing.T) (*harness, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	fake.Set(h.at(8, 6, 30))
	if err := h.s.Once(t.Context(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	hourly := testConfig("12")
	hourly.Interval = time.Hour
	h = h.restartWith(t, hourly)
	fake.Set(h.at(10, 30, 0))
	return h, fake
}

// TestChangingIntervalPublishesTheStretchToTheNewGrid: 08:00-08:05 went out
// at INTERVAL=5m; restarted at 10:30 with INTERVAL=1h, the stream goes on
// with 08:05-09:00, compared with 08:00-08:05, then 09:00-10:00: every
// instant from 08:00 on in exactly one window. A backfill of 08:00-09:00 at
// 1h then has nothing left to publish (it used to publish 08:00-09:00 under
// the ids of 08:00-08:05, with other content).
func TestChangingIntervalPublishesTheStretchToTheNewGrid(t *testing.T) {
	h, fake := publishedAtFiveMinutesThenHourly(t)
	h.runUntilIdle(t, fake)

	pubs := h.pub.list()
	want := []Window{
		{Start: h.at(8, 0, 0), End: h.at(8, 5, 0)},
		{Start: h.at(8, 5, 0), End: h.at(9, 0, 0)},
		{Start: h.at(9, 0, 0), End: h.at(10, 0, 0)},
	}
	if len(pubs) != len(want) {
		t.Fatalf("published %d windows, want %d: %+v", len(pubs), len(want), pubs)
	}
	for i, w := range want {
		if !pubs[i].start.Equal(w.Start) || !pubs[i].end.Equal(w.End) || !pubs[i].closedLast {
			t.Errorf("publication %d is %s-%s, want %s", i, pubs[i].start.Format("15:04"), pubs[i].end.Format("15:04"), w)
		}
		if i > 0 && !pubs[i].previousKnown {
			t.Errorf("window %s was not compared with the window before it", w)
		}
	}
	if err := h.s.Backfill(t.Context(), h.at(8, 0, 0), h.at(9, 0, 0), nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(h.pub.list()); n != len(want) {
		t.Errorf("the backfill of 08:00-09:00 published %d windows, want none: every instant of it is published", n-len(want))
	}
	assertOneContentPerID(t, h.pub.list())
	st, _ := h.store.get(liveKey("12"))
	if len(st.Published) != 1 || !st.Published[0].Start.Equal(h.at(8, 0, 0)) || !st.Published[0].End.Equal(h.at(10, 0, 0)) {
		t.Errorf("published spans %v, want 08:00-10:00 in one piece", st.Published)
	}
}

// TestBackfillAfterAnIntervalChangeFillsOnlyWhatIsMissing: with 08:00-08:05
// published at 5m, a backfill of 07:00-09:00 at 1h publishes 07:00-08:00 and
// 08:05-09:00, never a window that holds 08:00-08:05 again.
func TestBackfillAfterAnIntervalChangeFillsOnlyWhatIsMissing(t *testing.T) {
	h, _ := publishedAtFiveMinutesThenHourly(t)
	if err := h.s.Backfill(t.Context(), h.at(7, 0, 0), h.at(9, 0, 0), nil, nil); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()[1:]
	if len(pubs) != 2 || !pubs[0].start.Equal(h.at(7, 0, 0)) || !pubs[0].end.Equal(h.at(8, 0, 0)) ||
		!pubs[1].start.Equal(h.at(8, 5, 0)) || !pubs[1].end.Equal(h.at(9, 0, 0)) || !pubs[1].previousKnown {
		t.Fatalf("backfilled %+v, want 07:00-08:00 and 08:05-09:00 (compared with 08:00-08:05)", pubs)
	}
	assertOneContentPerID(t, h.pub.list())
}

// TestTheWindowInFlightGoesOutBeforeAGap: killed after 09:00 was
// acknowledged and before its commit, restarted beyond MAX_CATCHUP: 09:00
// goes out first, from its write-ahead record, then the gap is logged with
// its backfill command, and that backfill does not publish 09:00 again.
func TestTheWindowInFlightGoesOutBeforeAGap(t *testing.T) {
	fake := clock.NewAutoFake(time.Time{})
	cfg := testConfig("12")
	cfg.MaxCatchup = time.Hour
	h := newHarness(t, cfg, fake)
	fake.Set(h.at(9, 6, 30))
	h.seed(t, "12", h.s.Calendar().WindowAt(h.at(8, 55, 0)))
	h.runCrashing(t, FailpointAfterPublish, 1)
	first := h.pub.list()
	if len(first) != 1 || !first[0].start.Equal(h.at(9, 0, 0)) {
		t.Fatalf("before the crash: %+v, want 09:00", first)
	}
	h.revive()
	h.fetcher.bump("12", h.at(9, 0, 0)) // late data: a fetch again would differ

	fake.Set(h.at(12, 0, 30))
	after := h.restart(t)
	if err := after.runUntil(t, func(p publication, n int) bool { return p.start.Equal(h.at(11, 50, 0)) }); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	if again := pubs[1]; !again.start.Equal(h.at(9, 0, 0)) || again.records != first[0].records {
		t.Fatalf("after the restart the first window is %s, want 09:00 exactly as before", again.start)
	}
	if n := h.fetcher.callsFor("12", h.at(9, 0, 0)); n != 1 {
		t.Errorf("09:00 fetched %d times, want once", n)
	}
	gaps := h.logs.withMessage(t, "older than MAX_CATCHUP")
	if len(gaps) != 1 || gaps[0]["gap_from"] != h.at(9, 5, 0).Format(time.RFC3339) {
		t.Fatalf("gap logged as %v, want one line from 09:05", gaps)
	}
	command := gaps[0]["backfill"].(string)
	if !strings.Contains(command, "--from "+h.at(9, 5, 0).Format(time.RFC3339)) {
		t.Errorf("backfill command %q does not start after the window in flight", command)
	}
	before := len(h.pub.list())
	if err := after.s.Backfill(t.Context(), h.at(9, 5, 0), pubs[2].start, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range h.pub.list()[before:] {
		if p.start.Equal(h.at(9, 0, 0)) {
			t.Error("the printed backfill published 09:00 again")
		}
	}
	assertOneContentPerID(t, h.pub.list())
}

// TestBackfillKilledThenLiveGoesOnFromTheRecord: a backfill killed after a
// window was acknowledged and before its commit has recorded every window it
// committed; the live service started next publishes the window in flight
// from its record and goes on after what the backfill published.
func TestBackfillKilledThenLiveGoesOnFromTheRecord(t *testing.T) {
	fake := clock.NewAutoFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	fake.Set(h.at(9, 31, 0))
	cal := h.s.Calendar()
	h.seed(t, "12", cal.WindowAt(h.at(7, 55, 0)))
	ctx, cancel := context.WithCancel(t.Context())
	fp, crashed := h.crashAt(FailpointAfterPublish, 4, cancel)
	killed := h.restart(t, func(d *Deps) { d.Failpoint = fp })
	if err := killed.s.Backfill(ctx, h.at(8, 0, 0), h.at(9, 0, 0), nil, nil); err == nil {
		t.Fatal("the killed backfill returned no error")
	}
	<-crashed
	backfilled := h.pub.list()
	if len(backfilled) != 4 {
		t.Fatalf("the backfill published %d windows before it was killed, want 4", len(backfilled))
	}
	h.revive()
	for _, p := range backfilled {
		h.fetcher.bump("12", p.start) // late data: a fetch again would differ
	}
	fake.Set(h.at(8, 31, 0))
	live := h.restart(t)
	if err := live.runUntil(t, func(p publication, n int) bool { return p.start.Equal(h.at(8, 25, 0)) }); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	if again := pubs[4]; again.records != backfilled[3].records {
		t.Fatalf("the window in flight went out again as %s with other records", again.start)
	}
	assertContiguous(t, cal, append(pubs[:3:3], pubs[4:]...), cal.WindowAt(h.at(8, 0, 0)))
	assertOneContentPerID(t, pubs)
}

// TestALostStateDirectoryStopsPublishing: the state directory removed under
// a running scheduler and recreated by a second process: the first stops
// publishing with an error naming the directory, says so in Problems, and
// Run returns the error; nothing more goes out from it.
func TestALostStateDirectoryStopsPublishing(t *testing.T) {
	fake := clock.NewAutoFake(time.Time{})
	dir := filepath.Join(t.TempDir(), "state")
	store, err := state.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := newHarness(t, testConfig("12"), fake, func(d *Deps) { d.Store = store })
	fake.Set(h.at(9, 7, 0))
	h.pub.after = func(p publication) {
		if p.start.Equal(h.at(9, 5, 0)) {
			if err := os.RemoveAll(dir); err != nil {
				t.Error(err)
			}
			second, err := state.OpenDir(dir) // another process takes the recreated directory
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(func() { second.Close() })
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // ends the test when the loss goes unseen
	defer cancel()
	err = h.s.Run(ctx)
	var lost *state.LostError
	if !errors.As(err, &lost) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Run = %v, want a LostError naming %s", err, dir)
	}
	// 09:00, then 09:05, whose commit found the directory gone: nothing after.
	if n := len(h.pub.list()); n != 2 {
		t.Errorf("%d windows published, want 2", n)
	}
	if p := h.s.Problems()["12"]; !strings.Contains(p, "stops publishing") {
		t.Errorf("Problems()[12] = %q, want why the skill stopped", p)
	}
	if lines := h.logs.withMessage(t, "this process stops publishing"); len(lines) != 1 || lines[0]["level"] != "error" {
		t.Errorf("logged %v, want one error line", lines)
	}
	if !window.Fatal(err) {
		t.Error("the error is not Fatal")
	}
}

// runWithAStateNewerThanTheClock runs skill 12 at 09:07:30 with a state
// whose last window is 10:00-10:05, until the scheduler waits.
func runWithAStateNewerThanTheClock(t *testing.T) (*harness, *clock.Fake, func() error) {
	t.Helper()
	fake := clock.NewFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	h.seed(t, "12", h.s.Calendar().WindowAt(h.at(10, 0, 0)))
	fake.Set(h.at(9, 7, 30))
	stop := h.run(t)
	if err := fake.WaitForSleepers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	return h, fake, stop
}

// TestStateNewerThanTheClockIsAnError: a state whose last window ends after
// the latest complete window (the clock moved back, or a state from
// elsewhere) is logged once as an error that says what to do, reported by
// Problems, and nothing is published until the clock passes it.
func TestStateNewerThanTheClockIsAnError(t *testing.T) {
	h, fake, stop := runWithAStateNewerThanTheClock(t)
	lines := h.logs.withMessage(t, "after the latest complete window")
	if len(lines) != 1 || lines[0]["level"] != "error" || !strings.Contains(lines[0]["message"].(string), "Fix the clock") {
		t.Fatalf("logged %v, want one error line saying what to do", lines)
	}
	if p := h.s.Problems()["12"]; !strings.Contains(p, "clock moved back") {
		t.Errorf("Problems()[12] = %q", p)
	}
	if n := len(h.pub.list()); n != 0 {
		t.Errorf("%d windows published, want none", n)
	}
	// The clock passes the stored window: publishing goes on, and the
	// problem is gone.
	fake.Set(h.at(10, 11, 0))
	if err := fake.WaitForSleepers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	for len(h.pub.list()) == 0 {
		fake.Advance(time.Minute)
		if err := fake.WaitForSleepers(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if p := h.s.Problems(); len(p) != 0 {
		t.Errorf("Problems() = %v after the clock passed the state", p)
	}
	if pubs := h.pub.list(); !pubs[0].start.Equal(h.at(10, 5, 0)) {
		t.Errorf("first window published %s, want 10:05", pubs[0].start)
	}
}

// TestProblemsLastAsLongAsTheRun: a replica that stands down (Run returns)
// is not kept unready by a problem of the run it ended.
func TestProblemsLastAsLongAsTheRun(t *testing.T) {
	h, _, stop := runWithAStateNewerThanTheClock(t)
	if len(h.s.Problems()) != 1 {
		t.Fatalf("Problems() = %v while the state is newer than the clock", h.s.Problems())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if p := h.s.Problems(); len(p) != 0 {
		t.Errorf("Problems() = %v after Run returned", p)
	}
}
