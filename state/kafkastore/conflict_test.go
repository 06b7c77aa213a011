package kafkastore_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/state/kafkastore"
)

// conflictOf returns err as a *ConflictError, failing the test otherwise.
func conflictOf(t *testing.T, err error) *kafkastore.ConflictError {
	t.Helper()
	var conflict *kafkastore.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("Save: %v, want a *ConflictError", err)
	}
	return conflict
}

// TestFirstWriteAheadRecordDecides: replica b loaded the state before
// replica a saved the write-ahead record of the next window; b's record of
// the same window, with other data, comes second and is not kept. b is told
// so, with a's record, which it publishes instead of its own.
func TestFirstWriteAheadRecordDecides(t *testing.T) {
	c := newCluster(t)
	a, b := open(t, testConfig(c, "a")), open(t, testConfig(c, "b"))
	mustLoad := func(s *kafkastore.Store) {
		if _, _, err := s.Load(liveKey); err != nil {
			t.Fatal(err)
		}
	}
	mustLoad(a)
	mustSave(t, a, committed(0, 10))
	catchUp(t, b)
	mustLoad(b)

	first := withPending(committed(0, 10), 20, 1)
	second := withPending(committed(0, 10), 20, 2)
	mustSave(t, a, first)
	conflict := conflictOf(t, b.Save(second))
	if !conflict.SameWindow() || conflict.Instance != "a" {
		t.Fatalf("conflict: same window %v, instance %q; want the same window, saved by a", conflict.SameWindow(), conflict.Instance)
	}
	assertSameState(t, "the state that won", conflict.Current, first)
	for _, s := range []*kafkastore.Store{a, b, open(t, testConfig(c, "c"))} {
		catchUp(t, s)
		assertSameState(t, "Load after the conflict", mustLoadState(t, s), first)
	}
	if msg := conflict.Error(); !strings.Contains(msg, `instance "a"`) || !strings.Contains(msg, "load the state again") {
		t.Errorf("conflict message %q does not say who won and what to do", msg)
	}
}

func mustLoadState(t *testing.T, s *kafkastore.Store) state.State { return mustLoad(t, s, liveKey) }

// TestStaleWriterBacksOff: a replica frozen while another one published and
// committed two windows wakes up and saves the write-ahead record of a
// window already committed. Its save is not kept, and the state that won
// has no record of that window: the caller backs off, and loads again.
func TestStaleWriterBacksOff(t *testing.T) {
	c := newCluster(t)
	stale, active := open(t, testConfig(c, "stale")), open(t, testConfig(c, "active"))
	if _, _, err := stale.Load(liveKey); err != nil {
		t.Fatal(err)
	}
	if _, _, err := active.Load(liveKey); err != nil {
		t.Fatal(err)
	}
	mustSave(t, active, withPending(committed(0, 5), 5, 1))
	want := committed(1, 5)
	mustSave(t, active, want)

	conflict := conflictOf(t, stale.Save(withPending(committed(0, 5), 5, 2)))
	if conflict.SameWindow() {
		t.Fatal("SameWindow is true, but the state that won holds no write-ahead record")
	}
	assertSameState(t, "the state that won", conflict.Current, want)
	// Once it has loaded again, the stale replica saves on the current state.
	assertSameState(t, "Load after the conflict", mustLoadState(t, stale), want)
	mustSave(t, stale, withPending(want, 5, 3))
}

// TestTwoReplicasRace has two replicas, both sure they are active, save
// the write-ahead record of the same window at the same moment, round after
// round, each with its own data. In every round exactly one save is kept,
// the other is told which one, and every reader, a fresh one included,
// agrees on it; after compaction a fresh reader still does.
func TestTwoReplicasRace(t *testing.T) {
	c := newCluster(t)
	stores := []*kafkastore.Store{open(t, testConfig(c, "a")), open(t, testConfig(c, "b"))}
	base := committed(0, 50)
	if _, _, err := stores[0].Load(liveKey); err != nil {
		t.Fatal(err)
	}
	mustSave(t, stores[0], base)
	for round := range 10 {
		saves := make([]state.State, 2)
		errs := make([]error, 2)
		for i, s := range stores {
			catchUp(t, s)
			assertSameState(t, "Load before the round", mustLoadState(t, s), base)
			saves[i] = withPending(base, 50, uint64(10*round+i))
		}
		var wg sync.WaitGroup
		ready := make(chan struct{})
		for i, s := range stores {
			wg.Go(func() {
				<-ready
				errs[i] = s.Save(saves[i])
			})
		}
		close(ready)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("round %d: both saves were kept", round)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: neither save was kept: %v", round, errs)
		}
		conflict := conflictOf(t, errs[1-winner])
		if !conflict.SameWindow() {
			t.Fatalf("round %d: the loser is not told that the winner holds the same window", round)
		}
		assertSameState(t, "the state that won", conflict.Current, saves[winner])
		fresh := open(t, testConfig(c, "fresh"))
		assertSameState(t, "a fresh reader", mustLoadState(t, fresh), saves[winner])
		_ = fresh.Close()
		// The winner publishes, then commits; both replicas go on from it.
		base = committed(round+1, 50)
		mustSave(t, stores[winner], base)
	}
	if n := compactedSaves(t, c, stores[0]); n != 1 {
		t.Errorf("records of %d saves left after compaction, want only the last one's (losers and replaced saves tombstoned)", n)
	}
	assertSameState(t, "a fresh reader after compaction", mustLoadState(t, open(t, testConfig(c, "after"))), base)
}

// TestLosingSaveLeftBehindIsRemoved plays a replica that lost a race and
// died before removing its records: the next kept save removes them, and
// before the save it replaced, so that a reader of the compacted topic
// never meets the loser first.
func TestLosingSaveLeftBehindIsRemoved(t *testing.T) {
	c := newCluster(t)
	a := open(t, testConfig(c, "a"))
	if _, _, err := a.Load(liveKey); err != nil {
		t.Fatal(err)
	}
	mustSave(t, a, committed(0, 5))
	produce(t, c, &kgo.Record{Key: []byte("0032/3#dead#0"), Value: encoded(t, committed(7, 5))},
		&kgo.Record{Key: []byte("0032/3#dead"), Value: manifestJSON(t, "dead", "a-save-long-gone", len(encoded(t, committed(7, 5))))})
	catchUp(t, a)
	want := committed(1, 5)
	mustSave(t, a, want)

	removed := map[string]int64{} // save id -> offset of its manifest's tombstone
	for _, r := range readTopic(t, c) {
		if r.Value == nil && strings.Count(string(r.Key), "#") == 1 {
			removed[strings.Split(string(r.Key), "#")[1]] = r.Offset
		}
	}
	lost, ok := removed["dead"]
	if !ok {
		t.Fatal("the losing save left behind was not tombstoned")
	}
	for save, at := range removed {
		if save != "dead" && at < lost {
			t.Errorf("replaced save %s was tombstoned (offset %d) before the losing one (offset %d)", save, at, lost)
		}
	}
	assertSameState(t, "a fresh reader", mustLoadState(t, open(t, testConfig(c, "b"))), want)
}

// manifestJSON is the manifest of a one-chunk save, as a writer of this
// package writes it.
func manifestJSON(t *testing.T, save, base string, size int) []byte {
	t.Helper()
	m, err := json.Marshal(map[string]any{
		"format": "skill6pub-state-manifest", "version": 1,
		"key":  map[string]string{"operation": "0032", "skill_id": "3"},
		"save": save, "base": base, "instance": "x", "chunks": 1, "bytes": size,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
