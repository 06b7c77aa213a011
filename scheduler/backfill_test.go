package scheduler

import (
	"context"
	"errors"
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
	var pe permanentError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "stopped after 15 of 48 windows; run the same command to resume") {
		t.Fatalf("Backfill = %v, want the publish error, 15 of 48 windows done", err)
	}
	if first.total != 48 || first.advanced != 15 || first.done != 1 {
		t.Errorf("progress = %d total, %d done, Done %d times; want 48, 15, once", first.total, first.advanced, first.done)
	}
	job := state.Key{Operation: testOperation, SkillID: "15", Job: "backfill-20260504T140000Z-20260504T160000Z"}
	if st, ok := h.store.get(job); !ok || !st.Windows[0].WindowEnd.Equal(failing) {
		t.Fatalf("job state of skill 15 = %+v, want it to end at the failing window", st)
	}
	for _, skill := range []string{"12", "15"} {
		if _, ok := h.store.get(liveKey(skill)); ok {
			t.Errorf("backfill wrote the live state of skill %s", skill)
		}
	}

	h.pub.fail = nil
	var second recordedProgress
	if err := h.s.Backfill(t.Context(), from, to, nil, &second); err != nil {
		t.Fatalf("resumed Backfill = %v", err)
	}
	if second.total != 33 || second.advanced != 33 {
		t.Errorf("resumed progress = %d total, %d done; want 33", second.total, second.advanced)
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
	err := h.s.Backfill(ctx, from, to, nil, nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted after 10 of 48 windows") {
		t.Fatalf("Backfill = %v, want an interruption after 10 windows", err)
	}
	h.pub.after = nil
	var progress recordedProgress
	if err := h.s.Backfill(t.Context(), from, to, []string{"12", "15"}, &progress); err != nil {
		t.Fatal(err)
	}
	if progress.total != 38 {
		t.Errorf("resumed with %d windows, want 38", progress.total)
	}
	for _, skill := range []string{"12", "15"} {
		assertContiguous(t, cal, h.pub.of(skill), cal.WindowAt(from))
		if n := len(h.pub.of(skill)); n != 24 {
			t.Errorf("skill %s: %d windows, want 24 (each once)", skill, n)
		}
	}
}

func TestBackfillUsesTheEventIDsOfLive(t *testing.T) {
	h := newBackfillHarness(t, "12")
	h.clock.(*clock.Fake).Set(h.at(12, 0, 0))
	if err := h.s.Once(t.Context(), h.at(9, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Backfill(t.Context(), h.at(8, 55, 0), h.at(9, 5, 0), nil, nil); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	if len(pubs) != 3 {
		t.Fatalf("%d publications, want live 09:00 then backfill 08:55 and 09:00", len(pubs))
	}
	live, backfilled := pubs[0], pubs[2]
	if !backfilled.start.Equal(live.start) || backfilled.closedID != live.closedID || len(live.ids) == 0 {
		t.Fatalf("backfilled window %s has window_closed id %s, live %s", backfilled.start, backfilled.closedID, live.closedID)
	}
	for dnis, id := range live.ids {
		if backfilled.ids[dnis] != id {
			t.Errorf("DNIS %s: backfill id %s, live id %s", dnis, backfilled.ids[dnis], id)
		}
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
		pubs := h.pub.list()
		if len(pubs) != len(order) {
			t.Fatalf("%d publications, want %d", len(pubs), len(order))
		}
		for i, p := range pubs {
			if p.key() != order[i] {
				t.Fatalf("publication %d is %v, want %v", i, p.key(), order[i])
			}
		}
		saves := h.store.commits()
		for i, s := range saves {
			if l, _ := s.Last(); keyOf(s.Key.SkillID, l.WindowStart) != order[i] {
				t.Fatalf("commit %d is %s %s, want %v", i, s.Key.SkillID, l.WindowStart, order[i])
			}
		}
	})
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
