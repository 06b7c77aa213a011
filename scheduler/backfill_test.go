package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/state"
)

// recordedProgress remembers what a backfill reported.
type recordedProgress struct {
	mu       sync.Mutex
	total    int
	advanced int
	done     int
}

func (p *recordedProgress) Start(total int) { p.mu.Lock(); p.total = total; p.mu.Unlock() }
func (p *recordedProgress) Advance(n int)   { p.mu.Lock(); p.advanced += n; p.mu.Unlock() }
func (p *recordedProgress) Done()           { p.mu.Lock(); p.done++; p.mu.Unlock() }

func newBackfillHarness(t testing.TB, skills ...string) *harness {
	h := newHarness(t, testConfig(skills...), clock.NewAutoFake(time.Time{}))
	h.clock.(*clock.Fake).Set(h.at(12, 0, 0))
	return h
}

func TestBackfillResumesAfterAnError(t *testing.T) {
	h := newBackfillHarness(t, "12", "15")
	cal := h.s.Calendar()
	from, to := h.at(9, 0, 0), h.at(11, 0, 0) // 24 windows per skill
	failing := h.at(9, 35, 0)
	h.fetcher.fail = func(c fetchCall, attempt int) error {
		if c.skill == "12" && c.start.Equal(h.at(9, 10, 0)) && attempt <= 2 {
			return &fetch.Error{Kind: fetch.KindBusy, Msg: "simultaneous requests"}
		}
		return nil
	}
	h.pub.fail = func(p publication, _ int) error {
		if p.skill == "15" && p.start.Equal(failing) {
			return permanentError{}
		}
		return nil
	}
	var first recordedProgress
	err := h.s.Backfill(t.Context(), from, to, nil, &first)
	// Skills publish side by side: by the time skill 15 fails, skill 12 has
	// committed its windows before 09:35, and one or two after that may be
	// committed or not.
	done := first.advanced
	var pe permanentError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), fmt.Sprintf("stopped after %d of 48 windows; every window committed is recorded, run the same command to go on", done)) {
		t.Fatalf("Backfill = %v, want the publish error, %d of 48 windows done", err, done)
	}
	if first.total != 48 || done < 14 || done > 16 || first.done != 1 {
		t.Errorf("progress = %d total, %d done, Done %d times; want 48, 14 to 16, once", first.total, done, first.done)
	}
	// Each skill's one record holds what the backfill committed, window by
	// window; skill 15 also holds the failed window's write-ahead record.
	for _, skill := range []string{"12", "15"} {
		pubs := h.pub.of(skill)
		committedEnd := from
		for _, p := range pubs {
			if !p.start.Equal(failing) || skill != "15" {
				committedEnd = p.start.Add(5 * time.Minute)
			}
		}
		st, ok := h.store.get(liveKey(skill))
		if !ok || len(st.Published) != 1 || !st.Published[0].Start.Equal(from) || !st.Published[0].End.Equal(committedEnd) {
			t.Errorf("live state of skill %s = %+v, want the span %s-%s", skill, st.Published, from, committedEnd)
		}
		if skill == "15" && (st.Pending == nil || !st.Pending.WindowStart.Equal(failing)) {
			t.Errorf("skill 15 pending = %+v, want the failing window's write-ahead record", st.Pending)
		}
	}

	h.pub.fail = nil
	var second recordedProgress
	if err := h.s.Backfill(t.Context(), from, to, nil, &second); err != nil {
		t.Fatalf("resumed Backfill = %v", err)
	}
	// The failed window goes out first, from its write-ahead record.
	if second.total != 47-done || second.advanced != 47-done {
		t.Errorf("resumed progress = %d total, %d done; want %d", second.total, second.advanced, 47-done)
	}
	for _, skill := range []string{"12", "15"} {
		pubs := h.pub.of(skill)
		if len(pubs) != 24 {
			t.Fatalf("skill %s: %d windows published, want 24", skill, len(pubs))
		}
		assertContiguous(t, cal, pubs, cal.WindowAt(from))
		for _, p := range pubs[1:] {
			if !p.previousKnown {
				t.Errorf("skill %s window %s was not diffed against the window before it", skill, p.start)
			}
		}
	}
	if got := h.fetcher.callsFor("12", h.at(9, 10, 0)); got != 3 {
		t.Errorf("busy window fetched %d times, want 3", got)
	}
}

func TestBackfillInterruptedCommitsTheWindowInFlightAndResumes(t *testing.T) {
	h := newBackfillHarness(t, "12", "15")
	cal := h.s.Calendar()
	from, to := h.at(9, 0, 0), h.at(11, 0, 0)
	ctx, cancel := context.WithCancel(t.Context())
	h.pub.after = func(publication) {
		if len(h.pub.list()) == 10 {
			cancel()
		}
	}
	var first recordedProgress
	err := h.s.Backfill(ctx, from, to, nil, &first)
	// The other skill's window in flight at the cancel is committed too.
	done := first.advanced
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), fmt.Sprintf("interrupted after %d of 48 windows", done)) || done < 10 || done > 11 {
		t.Fatalf("Backfill = %v (%d windows done), want an interruption after 10 or 11 windows", err, done)
	}
	h.pub.after = nil
	var progress recordedProgress
	if err := h.s.Backfill(t.Context(), from, to, []string{"12", "15"}, &progress); err != nil {
		t.Fatal(err)
	}
	if progress.total != 48-done {
		t.Errorf("resumed with %d windows, want %d", progress.total, 48-done)
	}
	for _, skill := range []string{"12", "15"} {
		assertContiguous(t, cal, h.pub.of(skill), cal.WindowAt(from))
		if n := len(h.pub.of(skill)); n != 24 {
			t.Errorf("skill %s: %d windows, want 24 (each once)", skill, n)
		}
	}
}

// TestBackfillUsesTheEventIDsOfLive publishes 09:00 live in one state
// directory and by backfill in another, each without a window before it.
func TestBackfillUsesTheEventIDsOfLive(t *testing.T) {
	live := newBackfillHarness(t, "12")
	if err := live.s.Once(t.Context(), live.at(9, 0, 0)); err != nil {
		t.Fatal(err)
	}
	backfill := newBackfillHarness(t, "12")
	if err := backfill.s.Backfill(t.Context(), backfill.at(9, 0, 0), backfill.at(9, 5, 0), nil, nil); err != nil {
		t.Fatal(err)
	}
	l, b := live.pub.list(), backfill.pub.list()
	if len(l) != 1 || len(b) != 1 {
		t.Fatalf("%d live and %d backfilled publications, want 09:00 once each", len(l), len(b))
	}
	if !b[0].start.Equal(l[0].start) || b[0].closedID != l[0].closedID || len(l[0].ids) == 0 {
		t.Fatalf("backfilled window %s has window_closed id %s, live %s", b[0].start, b[0].closedID, l[0].closedID)
	}
	for dnis, id := range l[0].ids {
		if b[0].ids[dnis] != id {
			t.Errorf("DNIS %s: backfill id %s, live id %s", dnis, b[0].ids[dnis], id)
		}
	}
	if b[0].records != l[0].records {
		t.Errorf("the same window without a previous one went out otherwise:\n live %s\nbackfill %s", l[0].records, b[0].records)
	}
}

// TestBackfillLeavesOutWhatLivePublished runs the live stream over a gap
// beyond MAX_CATCHUP, then backfills a range wider than the gap: only the
// gap's windows go out, and the first window after each one left out has
// no previous window.
func TestBackfillLeavesOutWhatLivePublished(t *testing.T) {
	h := runOverAGap(t) // 05:55 known, 08:05 to 09:00 published, 06:00-08:05 left
	cal := h.s.Calendar()
	if n := len(h.pub.list()); n != 12 {
		t.Fatalf("the live run published %d windows, want 12", n)
	}
	st, _ := h.store.get(liveKey("12"))
	wantSpans := []state.Span{{Start: h.at(5, 55, 0), End: h.at(6, 0, 0)}, {Start: h.at(8, 5, 0), End: h.at(9, 5, 0)}}
	if len(st.Published) != len(wantSpans) || !st.Published[0].Start.Equal(wantSpans[0].Start) || !st.Published[0].End.Equal(wantSpans[0].End) ||
		!st.Published[1].Start.Equal(wantSpans[1].Start) || !st.Published[1].End.Equal(wantSpans[1].End) {
		t.Fatalf("live spans %+v, want %+v", st.Published, wantSpans)
	}

	var progress recordedProgress
	if err := h.s.Backfill(t.Context(), h.at(5, 0, 0), h.at(9, 5, 0), nil, &progress); err != nil {
		t.Fatal(err)
	}
	backfilled := h.pub.list()[12:]
	if len(backfilled) != 11+25 || progress.total != 36 || progress.advanced != 36 {
		t.Fatalf("backfilled %d windows (progress %d of %d), want 05:00-05:55 and 06:00-08:05 less the live 05:55: 36",
			len(backfilled), progress.advanced, progress.total)
	}
	assertContiguous(t, cal, backfilled[:11], cal.WindowAt(h.at(5, 0, 0)))
	assertContiguous(t, cal, backfilled[11:], cal.WindowAt(h.at(6, 0, 0)))
	for i, p := range backfilled {
		if want := i != 0 && i != 11; p.previousKnown != want {
			t.Errorf("backfilled %s: previous window known %v, want %v", p.start.Format("15:04"), p.previousKnown, want)
		}
	}
	lines := h.logs.withMessage(t, "were published already")
	if len(lines) != 1 || lines[0]["windows"] != float64(13) || lines[0]["skill"] != "12" {
		t.Errorf("left-out windows logged as %v, want one line for 13 windows of skill 12", lines)
	}
}

func TestBackfillStopsAtTheLatestCompleteWindow(t *testing.T) {
	h := newBackfillHarness(t, "12")
	fake := h.clock.(*clock.Fake)
	cal := h.s.Calendar()
	fake.Set(h.at(12, 7, 30)) // latest complete: 12:00-12:05
	from, to := h.at(11, 0, 0), h.at(13, 0, 0)
	if err := h.s.Backfill(t.Context(), from, to, nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(h.pub.list()); n != 13 {
		t.Fatalf("published %d windows, want 13 (11:00 to 12:00)", n)
	}
	if len(h.logs.withMessage(t, "not complete yet")) != 1 {
		t.Error("the windows left out were not logged")
	}
	fake.Set(h.at(14, 0, 0))
	if err := h.s.Backfill(t.Context(), from, to, nil, nil); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	assertContiguous(t, cal, pubs, cal.WindowAt(from))
	if len(pubs) != 24 {
		t.Fatalf("after running again: %d windows, want 24", len(pubs))
	}
}

// TestBackfillFetchesTheNextWindowWhileOnePublishes makes the fetch of each
// window wait until the window before it is being published, and each
// publish wait until the next fetch has begun: only a pipelined backfill
// finishes; a sequential one deadlocks, which synctest reports.
func TestBackfillFetchesTheNextWindowWhileOnePublishes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBackfillHarness(t, "12", "15")
		cal := h.s.Calendar()
		from, to := h.at(9, 0, 0), h.at(10, 0, 0)
		var order []windowKey // the plan: window by window, skills in order
		for w := cal.WindowAt(from); w.Start.Before(to); w = cal.Next(w) {
			order = append(order, keyOf("12", w.Start), keyOf("15", w.Start))
		}
		index := map[windowKey]int{}
		fetchBegun := make([]chan struct{}, len(order))
		publishBegun := make([]chan struct{}, len(order))
		for i, k := range order {
			index[k] = i
			fetchBegun[i], publishBegun[i] = make(chan struct{}), make(chan struct{})
		}
		h.fetcher.before = func(_ context.Context, c fetchCall) {
			i := index[keyOf(c.skill, c.start)]
			close(fetchBegun[i])
			if i > 0 {
				<-publishBegun[i-1]
			}
		}
		h.pub.before = func(_ context.Context, p publication) error {
			i := index[p.key()]
			close(publishBegun[i])
			if i+1 < len(order) {
				<-fetchBegun[i+1]
			}
			return nil
		}
		if err := h.s.Backfill(t.Context(), from, to, nil, nil); err != nil {
			t.Fatal(err)
		}
		// Skills publish side by side: each skill's windows go out and are
		// committed in order, whatever the interleaving between skills.
		var pubs, commits []windowKey
		for _, p := range h.pub.list() {
			pubs = append(pubs, p.key())
		}
		for _, s := range h.store.commits() {
			l, _ := s.Last()
			commits = append(commits, keyOf(s.Key.SkillID, l.WindowStart))
		}
		for _, skill := range []string{"12", "15"} {
			want := perSkill(order, skill)
			if got := perSkill(pubs, skill); !slices.Equal(got, want) {
				t.Errorf("skill %s published %v, want %v", skill, got, want)
			}
			if got := perSkill(commits, skill); !slices.Equal(got, want) {
				t.Errorf("skill %s committed %v, want %v", skill, got, want)
			}
		}
	})
}

// TestBackfillPublishesSkillsSideBySide makes each publish of skill 12
// wait until skill 15 is publishing the same window: only a backfill whose
// skills publish side by side finishes; one publish stage for all skills
// deadlocks, which synctest reports.
func TestBackfillPublishesSkillsSideBySide(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newBackfillHarness(t, "12", "15")
		cal := h.s.Calendar()
		from, to := h.at(9, 0, 0), h.at(9, 30, 0)
		publishing := map[int64]chan struct{}{} // by window start: skill 15 is publishing it
		for w := cal.WindowAt(from); w.Start.Before(to); w = cal.Next(w) {
			publishing[w.Start.Unix()] = make(chan struct{})
		}
		h.pub.before = func(ctx context.Context, p publication) error {
			if p.skill == "15" {
				close(publishing[p.start.Unix()])
				return nil
			}
			select {
			case <-publishing[p.start.Unix()]:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := h.s.Backfill(t.Context(), from, to, nil, nil); err != nil {
			t.Fatal(err)
		}
		if n := len(h.pub.list()); n != 2*len(publishing) {
			t.Fatalf("%d publications, want %d", n, 2*len(publishing))
		}
	})
}

// perSkill returns the keys of one skill, in order.
func perSkill(keys []windowKey, skill string) []windowKey {
	var out []windowKey
	for _, k := range keys {
		if k.skill == skill {
			out = append(out, k)
		}
	}
	return out
}

func TestBackfillRejectsABadRange(t *testing.T) {
	h := newBackfillHarness(t, "12")
	var ce *ConfigError
	if err := h.s.Backfill(t.Context(), h.at(10, 0, 0), h.at(9, 0, 0), nil, nil); !errors.As(err, &ce) || !strings.Contains(err.Error(), "--from") {
		t.Errorf("reversed range: %v", err)
	}
	if err := h.s.Backfill(t.Context(), h.at(9, 0, 0), h.at(10, 0, 0), []string{"12", "12"}, nil); !errors.As(err, &ce) || !strings.Contains(err.Error(), "--skills lists 12 twice") {
		t.Errorf("duplicate skill: %v", err)
	}
	if len(h.fetcher.callList()) != 0 {
		t.Error("a rejected backfill fetched")
	}
}

// TestBackfillPublishesTheWindowInFlightFirst: a window the service was
// publishing when it stopped may be in Kafka, and only its write-ahead
// record has its content: a backfill publishes it first, from that record,
// and then what is not published yet around it.
func TestBackfillPublishesTheWindowInFlightFirst(t *testing.T) {
	h := newBackfillHarness(t, "12")
	cal := h.s.Calendar()
	h.seed(t, "12", cal.WindowAt(h.at(9, 0, 0)))
	st, _ := h.store.get(liveKey("12"))
	st.Pending = &state.Pending{WindowStart: h.at(9, 5, 0), WindowEnd: h.at(9, 10, 0), FetchedAt: h.at(9, 11, 0)}
	if err := h.store.Save(st); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Backfill(t.Context(), h.at(8, 55, 0), h.at(9, 15, 0), nil, nil); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	if len(pubs) != 3 || !pubs[0].start.Equal(h.at(9, 5, 0)) || !pubs[0].previousKnown ||
		!pubs[1].start.Equal(h.at(8, 55, 0)) || pubs[1].previousKnown || !pubs[2].start.Equal(h.at(9, 10, 0)) || !pubs[2].previousKnown {
		t.Fatalf("backfilled %+v, want 09:05 from its record (compared with 09:00), then 08:55 (without a previous window) and 09:10 (compared with 09:05)", pubs)
	}
	if n := h.fetcher.callsFor("12", h.at(9, 5, 0)); n != 0 {
		t.Errorf("the window in flight was fetched %d times, want none: it goes out from its record", n)
	}
}

// TestOverlappingBackfillsPublishEachWindowOnce: a backfill over a range
// that overlaps an earlier one's leaves out the windows the first published.
func TestOverlappingBackfillsPublishEachWindowOnce(t *testing.T) {
	h := newBackfillHarness(t, "12")
	cal := h.s.Calendar()
	if err := h.s.Backfill(t.Context(), h.at(6, 0, 0), h.at(7, 0, 0), nil, nil); err != nil {
		t.Fatal(err)
	}
	var progress recordedProgress
	if err := h.s.Backfill(t.Context(), h.at(6, 30, 0), h.at(7, 30, 0), nil, &progress); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	assertContiguous(t, cal, pubs, cal.WindowAt(h.at(6, 0, 0)))
	if len(pubs) != 18 || progress.total != 6 {
		t.Fatalf("published %d windows (the second backfill %d), want 06:00 to 07:25 once each: 18 (6)", len(pubs), progress.total)
	}
	if !pubs[12].previousKnown {
		t.Error("07:00, the second backfill's first window, was not compared with 06:55, the skill's last published window")
	}
	lines := h.logs.withMessage(t, "were published already")
	if len(lines) != 1 || lines[0]["windows"] != float64(6) {
		t.Errorf("left-out windows logged as %v, want one line for 6 windows", lines)
	}
	st, _ := h.store.get(liveKey("12"))
	if len(st.Published) != 1 || !st.Published[0].Start.Equal(h.at(6, 0, 0)) || !st.Published[0].End.Equal(h.at(7, 30, 0)) {
		t.Errorf("live spans %+v, want 06:00-07:30", st.Published)
	}
}

// TestBackfillRetriesAStateSaveThatFails: a commit that cannot be saved is
// retried like the live loop retries it; the windows published again meanwhile
// are the same records, and the record ends with each window once.
func TestBackfillRetriesAStateSaveThatFails(t *testing.T) {
	h := newBackfillHarness(t, "12")
	diskFull := errors.New("no space left on device")
	failures := 0
	h.store.failSave = func(s state.State) error {
		if s.Pending == nil && failures < 3 {
			failures++
			return diskFull
		}
		return nil
	}
	from, to := h.at(6, 0, 0), h.at(6, 30, 0)
	if err := h.s.Backfill(t.Context(), from, to, nil, nil); err != nil {
		t.Fatal(err)
	}
	seen := map[windowKey]string{}
	for _, p := range h.pub.list() {
		if records, ok := seen[p.key()]; ok && records != p.records {
			t.Errorf("window %s published again with other records", p.start)
		}
		seen[p.key()] = p.records
	}
	if len(seen) != 6 || len(h.pub.list()) != 9 {
		t.Fatalf("published %d windows in %d publications, want 6 in 9 (three commits retried)", len(seen), len(h.pub.list()))
	}
	if st, _ := h.store.get(liveKey("12")); len(st.Published) != 1 || !st.Published[0].End.Equal(to) || st.Pending != nil {
		t.Errorf("live state %+v, want the span 06:00-06:30 and nothing pending", st)
	}
	if lines := h.logs.withMessage(t, "retrying it"); len(lines) != 3 {
		t.Errorf("%d retries logged, want 3", len(lines))
	}
}

// TestLiveGoesOnAfterWhatABackfillPublished: the service, down since 05:55,
// is backfilled up to 08:30 before it starts again: it catches up from
// 08:30, not from 06:00, which would send the backfilled windows again.
func TestLiveGoesOnAfterWhatABackfillPublished(t *testing.T) {
	fake := clock.NewFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	cal := h.s.Calendar()
	h.seed(t, "12", cal.WindowAt(h.at(5, 55, 0)))
	fake.Set(h.at(9, 7, 30))
	if err := h.s.Backfill(t.Context(), h.at(6, 0, 0), h.at(8, 30, 0), nil, nil); err != nil {
		t.Fatal(err)
	}
	backfilled := len(h.pub.list())
	h.runUntilIdle(t, fake)
	live := h.pub.list()[backfilled:]
	assertContiguous(t, cal, live, cal.WindowAt(h.at(8, 30, 0)))
	// The backfill followed the live stream's last window, so it moved the
	// stream's latest window forward as it went: the live stream goes on
	// from 08:30, compared with 08:25.
	if backfilled != 30 || len(live) != 7 || !live[0].previousKnown || !live[1].previousKnown {
		t.Fatalf("backfilled %d, then live %d windows; want 30 (06:00-08:25), then 7 from 08:30, compared with the window before each", backfilled, len(live))
	}

	if err := h.s.Once(t.Context(), h.at(7, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if n := len(h.pub.list()) - backfilled - len(live); n != 0 {
		t.Errorf("once of a backfilled window published %d windows, want none", n)
	}
	if lines := h.logs.withMessage(t, "already published (live, by once or by a backfill)"); len(lines) != 1 {
		t.Errorf("once of a backfilled window logged %d lines saying so, want 1", len(lines))
	}
}
