package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/state"
)

// errDead is what the fakes answer once the process they belong to
// "died": nothing more is published or saved.
var errDead = errors.New("the process is dead")

// crashAt returns a Failpoint that, at the nth time point is reached,
// stops the run as SIGKILL would: ctx is cancelled and from then on the
// store saves nothing and the publisher publishes nothing, so no later step
// of the dying process leaves a trace. The fakes come back to life with
// revive. crashed is closed when it fires.
func (h *harness) crashAt(point string, n int, cancel context.CancelFunc) (failpoint func(string), crashed <-chan struct{}) {
	var mu sync.Mutex
	hits := 0
	done := make(chan struct{})
	return func(name string) {
		mu.Lock()
		defer mu.Unlock()
		if name != point {
			return
		}
		if hits++; hits != n {
			return
		}
		h.store.mu.Lock()
		h.store.failSave = func(state.State) error { return errDead }
		h.store.mu.Unlock()
		h.pub.mu.Lock()
		h.pub.fail = func(publication, int) error { return errDead }
		h.pub.mu.Unlock()
		cancel()
		close(done)
	}, done
}

func (h *harness) revive() {
	h.store.mu.Lock()
	h.store.failSave = nil
	h.store.mu.Unlock()
	h.pub.mu.Lock()
	h.pub.fail = nil
	h.pub.mu.Unlock()
}

// runCrashing runs h until its failpoint crashes it at the nth point.
func (h *harness) runCrashing(t *testing.T, point string, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fp, crashed := h.crashAt(point, n, cancel)
	h = h.restart(t, func(d *Deps) { d.Failpoint = fp })
	if err := h.s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-crashed:
	default:
		t.Fatalf("Run returned before the failpoint %s was reached %d times", point, n)
	}
}

func TestCrashAfterPublishRepublishesTheSameRecordsWithoutFetching(t *testing.T) {
	fake := clock.NewAutoFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	fake.Set(h.at(9, 21, 0)) // 09:00 to 09:15 are due
	cal := h.s.Calendar()
	h.seed(t, "12", cal.WindowAt(h.at(8, 55, 0)))

	h.runCrashing(t, FailpointAfterPublish, 2) // 09:05 is published, not committed
	before := h.pub.list()
	if len(before) != 2 || !before[1].start.Equal(h.at(9, 5, 0)) {
		t.Fatalf("before the crash: %+v, want 09:00 and 09:05", before)
	}
	st, _ := h.store.get(liveKey("12"))
	if last, _ := st.Last(); !last.WindowStart.Equal(h.at(9, 0, 0)) || st.Pending == nil || !st.Pending.WindowStart.Equal(h.at(9, 5, 0)) {
		t.Fatalf("state after the crash: last %s, pending %+v; want 09:00 committed and 09:05 pending", last.WindowStart, st.Pending)
	}
	// Late data arrived for 09:05 while the process was down: fetching it
	// again would publish other payloads under the same event ids.
	h.fetcher.bump("12", h.at(9, 5, 0))
	h.revive()

	after := h.restart(t)
	if err := after.runUntil(t, func(p publication, n int) bool { return n == 5 }); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	assertContiguous(t, cal, append(pubs[:2:2], pubs[3:]...), cal.WindowAt(h.at(9, 0, 0)))
	if again := pubs[2]; again.records != before[1].records {
		t.Fatalf("the window in flight went out again with other records:\n first %s\nagain %s", before[1].records, again.records)
	}
	if n := h.fetcher.callsFor("12", h.at(9, 5, 0)); n != 1 {
		t.Errorf("09:05 fetched %d times, want once: the restart must publish the saved window", n)
	}
	if lines := h.logs.withMessage(t, "resuming the window in flight"); len(lines) != 1 {
		t.Errorf("the resumed window was not logged: %d lines", len(lines))
	}
	st, _ = h.store.get(liveKey("12"))
	if st.Pending != nil {
		t.Errorf("a pending window is left after the commits: %+v", st.Pending)
	}
}

// TestCrashBeforePublishFetchesAgain checks the other side: a process that
// dies before its write-ahead record is saved (in the fetch, or in that
// save) never published the window, so the next start fetches it again,
// new data included.
func TestCrashBeforePublishFetchesAgain(t *testing.T) {
	fake := clock.NewAutoFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	fake.Set(h.at(9, 11, 0))
	h.seed(t, "12", h.s.Calendar().WindowAt(h.at(8, 55, 0)))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dies, _ := h.crashAt("write-ahead save", 1, cancel)
	h.store.failSave = func(s state.State) error {
		if s.Pending != nil && s.Pending.WindowStart.Equal(h.at(9, 5, 0)) {
			go dies("write-ahead save") // it takes the store's lock
			return errDead
		}
		return nil
	}
	if err := h.s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if pubs := h.pub.list(); len(pubs) != 1 {
		t.Fatalf("before the crash: %+v, want 09:00 only", pubs)
	}
	h.fetcher.bump("12", h.at(9, 5, 0))
	h.revive()

	if err := h.restart(t).runUntil(t, func(p publication, n int) bool { return n == 1 }); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	if len(pubs) != 2 || !pubs[1].start.Equal(h.at(9, 5, 0)) {
		t.Fatalf("publications %+v, want 09:00 and 09:05", pubs)
	}
	if n := h.fetcher.callsFor("12", h.at(9, 5, 0)); n != 2 {
		t.Errorf("09:05 fetched %d times, want 2: it was never published, so the restart fetches it", n)
	}
	if !strings.Contains(pubs[1].records, `"asa_seconds":6`) {
		t.Errorf("09:05 went out with the data of the first fetch:\n%s", pubs[1].records)
	}
}

func TestCrashAfterPublishingARevisionRepublishesTheSameRevision(t *testing.T) {
	fake := clock.NewAutoFake(time.Time{})
	cfg := testConfig("12")
	cfg.ReviseWindows = 1
	h := newHarness(t, cfg, fake)
	fake.Set(h.at(9, 11, 0))
	cal := h.s.Calendar()
	h.seed(t, "12", cal.WindowAt(h.at(8, 55, 0)))
	h.pub.after = func(p publication) {
		if p.start.Equal(h.at(9, 5, 0)) && p.revision == 0 {
			h.fetcher.bump("12", h.at(9, 0, 0)) // late data: 09:00 gets a revision
		}
	}
	h.runCrashing(t, FailpointAfterPublish, 3) // 09:00, 09:05, then the revision of 09:00
	before := h.pub.list()
	if len(before) != 3 || before[2].revision != 1 || !before[2].start.Equal(h.at(9, 0, 0)) {
		t.Fatalf("before the crash: %+v, want 09:00, 09:05 and revision 1 of 09:00", before)
	}
	h.pub.after = nil
	h.fetcher.bump("12", h.at(9, 0, 0)) // and more late data while down
	h.revive()

	after := h.restart(t)
	if err := after.runUntil(t, func(p publication, n int) bool { return n == 5 }); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	if again := pubs[3]; again.revision != 1 || again.records != before[2].records {
		t.Fatalf("after the restart the first publication is %s r%d, want revision 1 of 09:00 exactly as before:\n first %s\nagain %s",
			again.start, again.revision, before[2].records, again.records)
	}
	if !pubs[4].start.Equal(h.at(9, 10, 0)) && pubs[4].revision == 0 {
		t.Errorf("then %s r%d", pubs[4].start, pubs[4].revision)
	}
	if lines := h.logs.withMessage(t, "resuming the revision in flight"); len(lines) != 1 {
		t.Errorf("the resumed revision was not logged")
	}
}

func TestCrashedOnceRepublishesTheSameRecords(t *testing.T) {
	fake := clock.NewFake(time.Time{})
	h := newHarness(t, testConfig("12"), fake)
	fake.Set(h.at(9, 11, 0))
	h.seed(t, "12", h.s.Calendar().WindowAt(h.at(9, 0, 0)))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fp, _ := h.crashAt(FailpointAfterPublish, 1, cancel)
	if err := h.restart(t, func(d *Deps) { d.Failpoint = fp }).s.Once(ctx, time.Time{}); !errors.Is(err, errDead) {
		t.Fatalf("Once = %v, want the crash", err)
	}
	h.fetcher.bump("12", h.at(9, 5, 0))
	h.revive()
	if err := h.restart(t).s.Once(t.Context(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	if len(pubs) != 2 || pubs[0].records != pubs[1].records {
		t.Fatalf("once after a crash published other records:\n%+v", pubs)
	}
	if n := h.fetcher.callsFor("12", h.at(9, 5, 0)); n != 1 {
		t.Errorf("fetched %d times, want once", n)
	}
}

func TestCrashedBackfillResumesWithTheSameRecords(t *testing.T) {
	h := newBackfillHarness(t, "12", "15")
	from, to := h.at(9, 0, 0), h.at(9, 30, 0)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fp, _ := h.crashAt(FailpointAfterPublish, 5, cancel)
	if err := h.restart(t, func(d *Deps) { d.Failpoint = fp }).s.Backfill(ctx, from, to, nil, nil); err == nil {
		t.Fatal("the crashed backfill returned nil")
	}
	before := h.pub.list()
	if len(before) != 5 {
		t.Fatalf("%d windows published before the crash, want 5", len(before))
	}
	crashed := before[4]
	h.fetcher.bump(crashed.skill, crashed.start)
	h.revive()
	if err := h.restart(t).s.Backfill(t.Context(), from, to, nil, nil); err != nil {
		t.Fatal(err)
	}
	pubs := h.pub.list()
	if len(pubs) != 5+8 { // 4 of the 12 windows were committed before the crash
		t.Fatalf("%d publications, want 13", len(pubs))
	}
	var again *publication
	for i := 5; i < len(pubs); i++ {
		if pubs[i].key() == crashed.key() {
			again = &pubs[i]
		}
	}
	if again == nil || again.records != crashed.records {
		t.Fatalf("the window in flight of the backfill did not go out again identical")
	}
	if n := h.fetcher.callsFor(crashed.skill, crashed.start); n != 1 {
		t.Errorf("the window in flight was fetched %d times, want once", n)
	}
}

// TestPendingOfAnotherKeyOrWindowIsNotReplayed checks that a write-ahead
// record made with another DNIS key is not replayed (the window is fetched
// again), and that one of another window than the next (an INTERVAL that
// changed) goes out from the record, before anything else.
func TestPendingOfAnotherKeyOrWindowIsNotReplayed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Deps)
		window func(h *harness) Window
	}{
		{"another DNIS key", func(d *Deps) { d.Hasher = schema.NewDNISHasher(secret.New("new key")) },
			func(h *harness) Window { return h.s.Calendar().WindowAt(h.at(9, 5, 0)) }},
		{"another window", func(*Deps) {},
			func(h *harness) Window { return Window{Start: h.at(9, 5, 0), End: h.at(9, 15, 0)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := clock.NewAutoFake(time.Time{})
			h := newHarness(t, testConfig("12"), fake)
			fake.Set(h.at(9, 11, 0))
			cal := h.s.Calendar()
			h.seed(t, "12", cal.WindowAt(h.at(9, 0, 0)))
			st, _ := h.store.get(liveKey("12"))
			w := tc.window(h)
			st.Pending = &state.Pending{WindowStart: w.Start, WindowEnd: w.End, FetchedAt: h.at(9, 6, 0), Report: reportFor("12", w.Start, 7)}
			if err := h.store.Save(st); err != nil {
				t.Fatal(err)
			}
			after := h.restart(t, tc.edit)
			if err := after.runUntil(t, func(p publication, n int) bool { return n == 1 }); err != nil {
				t.Fatal(err)
			}
			replayed := tc.name == "another window"
			if n := h.fetcher.callsFor("12", h.at(9, 5, 0)); n != 1 && !replayed || n != 0 && replayed {
				t.Errorf("09:05 fetched %d times; want once when the record does not fit, never when it is replayed", n)
			}
			if pubs := h.pub.list(); !pubs[0].start.Equal(w.Start) || !pubs[0].end.Equal(w.End) {
				t.Errorf("first publication %s-%s, want the record's window %s", pubs[0].start, pubs[0].end, w)
			}
		})
	}
}
