package window

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
)

// countingFetcher answers every window with rows and counts its calls.
type countingFetcher struct {
	mu    sync.Mutex
	calls int
	rows  []fetch.Row
}

func (f *countingFetcher) Fetch(context.Context, string, time.Time, time.Time) (fetch.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return fetch.Report{Rows: slices.Clone(f.rows)}, nil
}

// recordingPublisher keeps the encoded records of each publish, and fails
// while fail says so.
type recordingPublisher struct {
	mu      sync.Mutex
	records [][]string
	fail    error
}

func (p *recordingPublisher) Publish(_ context.Context, events schema.Events, _ []schema.DeadLetter) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	var records []string
	for _, e := range events.Slice(0, events.Len()) {
		m, err := schema.Encode(e)
		if err != nil {
			return err
		}
		records = append(records, string(m.Value))
	}
	p.records = append(p.records, records)
	return nil
}

// memoryStore keeps the last state saved per key, and every save.
type memoryStore struct {
	mu     sync.Mutex
	states map[state.Key]state.State
	saves  []state.State
	save   func(state.State) error // when set, called first; an error refuses the save
}

func (m *memoryStore) Load(key state.Key) (state.State, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[key]
	return st, ok, nil
}

func (m *memoryStore) Save(s state.State) error {
	if m.save != nil {
		if err := m.save(s); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.states == nil {
		m.states = map[state.Key]state.State{}
	}
	m.states[s.Key] = s
	m.saves = append(m.saves, s)
	return nil
}

type fixture struct {
	tx      *Transaction
	fetcher *countingFetcher
	pub     *recordingPublisher
	store   *memoryStore
	st      state.State
	w       Window
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	loc := time.FixedZone("COT", -5*3600)
	start := time.Date(2026, 5, 4, 9, 0, 0, 0, loc)
	f := &fixture{
		fetcher: &countingFetcher{rows: []fetch.Row{{DNIS: "573001111111"}, {DNIS: "573002222222"}}},
		pub:     &recordingPublisher{},
		store:   &memoryStore{},
		st:      state.State{Key: state.Key{Operation: "0032", SkillID: "12"}},
		w:       Window{Start: start, End: start.Add(5 * time.Minute)},
	}
	tx, err := New(Deps{
		Fetcher: f.fetcher, Publisher: f.pub, Store: f.store, Location: loc, Operation: "0032",
		Clock: clock.NewFake(start.Add(6 * time.Minute)), Logger: zerolog.Nop(), ShutdownGrace: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.tx = tx
	return f
}

// TestTheDiffRunsWhileTheWriteAheadRecordIsSaved: the diff and the save of
// the write-ahead record each wait for the other to have started, so they
// only finish when they run at the same time. Then the state holds the
// record without its rows, and the store has it with them.
func TestTheDiffRunsWhileTheWriteAheadRecordIsSaved(t *testing.T) {
	f := newFixture(t)
	waitFor := func(started <-chan struct{}, what string) {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Errorf("%s never started: the diff and the save do not run at the same time", what)
		}
	}
	saving, diffing := make(chan struct{}), make(chan struct{})
	f.store.save = func(s state.State) error {
		if s.Pending != nil {
			close(saving)
			waitFor(diffing, "the diff")
		}
		return nil
	}
	f.tx.diff = func(prev *snapshot.Snapshot, cur snapshot.Window) snapshot.Output {
		close(diffing)
		waitFor(saving, "the save")
		return snapshot.Diff(prev, cur)
	}
	p, err := f.tx.Prepare(t.Context(), f.st, Job{Window: f.w})
	if err != nil {
		t.Fatal(err)
	}
	ahead, err := f.tx.writeAhead(f.st, p)
	if err != nil {
		t.Fatal(err)
	}
	if pending := ahead.Pending; pending == nil || !pending.WindowStart.Equal(f.w.Start) || pending.Report.Rows != nil {
		t.Errorf("state's pending = %+v, want the record of %s without its rows", pending, f.w.Start)
	}
	if saved := f.store.saves[0]; saved.Pending == nil || len(saved.Pending.Report.Rows) != 2 {
		t.Errorf("the store holds %+v, want the record with its 2 rows", saved.Pending)
	}
	if p.cur.Report.Rows != nil {
		t.Errorf("the window still holds its %d fetched rows after the record was saved", len(p.cur.Report.Rows))
	}
}

// TestACommitWhoseRecordCannotBeSavedIsRetriedWithoutFetching: the first
// save of the write-ahead record fails; the state is left as it was, and
// committing the same prepared window again diffs it once, fetches nothing
// more, and commits.
func TestACommitWhoseRecordCannotBeSavedIsRetriedWithoutFetching(t *testing.T) {
	f := newFixture(t)
	diskFull := errors.New("no space left on device")
	f.store.save = func(state.State) error { return diskFull }
	diffs := 0
	f.tx.diff = func(prev *snapshot.Snapshot, cur snapshot.Window) snapshot.Output {
		diffs++
		return snapshot.Diff(prev, cur)
	}
	p, err := f.tx.Prepare(t.Context(), f.st, Job{Window: f.w})
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.tx.Commit(t.Context(), f.st, p)
	var we *Error
	if !errors.As(err, &we) || we.Step != StepSavePending || !errors.Is(err, diskFull) {
		t.Fatalf("Commit = %v, want an *Error of step %q wrapping the store's error", err, StepSavePending)
	}
	if st.Pending != nil || len(f.pub.records) != 0 {
		t.Fatalf("after a failed record: pending %+v, %d publishes; want neither", st.Pending, len(f.pub.records))
	}
	f.store.save = nil
	if st, err = f.tx.Commit(t.Context(), st, p); err != nil {
		t.Fatal(err)
	}
	if diffs != 1 || f.fetcher.calls != 1 || len(f.pub.records) != 1 || st.Pending != nil || len(st.Windows) != 1 {
		t.Errorf("%d diffs, %d fetches, %d publishes, pending %v, %d windows; want 1, 1, 1, none, 1",
			diffs, f.fetcher.calls, len(f.pub.records), st.Pending, len(st.Windows))
	}
}

// TestAFailedPublishGoesOutAgainFromTheRecord: the state a failed publish
// leaves holds the write-ahead record without its rows; the next Run of the
// same window reads them back from the store and publishes the same records
// without fetching.
func TestAFailedPublishGoesOutAgainFromTheRecord(t *testing.T) {
	f := newFixture(t)
	f.pub.fail = errors.New("kafka: not enough replicas")
	st, _, err := f.tx.Run(t.Context(), f.st, Job{Window: f.w})
	if err == nil || st.Pending == nil || st.Pending.Report.Rows != nil {
		t.Fatalf("Run = %v with pending %+v, want the publish error and the record without its rows", err, st.Pending)
	}
	f.pub.fail = nil
	f.fetcher.rows = append(f.fetcher.rows, fetch.Row{DNIS: "573003333333"}) // late data
	st, r, err := f.tx.Run(t.Context(), st, Job{Window: f.w})
	if err != nil {
		t.Fatal(err)
	}
	if f.fetcher.calls != 1 || !r.Resumed || r.Rows != 2 || st.Pending != nil {
		t.Errorf("%d fetches, resumed %v, %d rows, pending %v; want 1, true, 2, none", f.fetcher.calls, r.Resumed, r.Rows, st.Pending)
	}
}

// TestCommittedMovesTheLatestWindowsOnlyForward: a window that follows the
// latest joins them, one after a gap starts them anew, an older one (a
// backfill, once in a gap) leaves them alone; every first publication joins
// the spans, and a revision replaces what it revised.
func TestCommittedMovesTheLatestWindowsOnlyForward(t *testing.T) {
	base := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	snap := func(m, revision int) snapshot.Snapshot {
		return snapshot.Snapshot{WindowStart: at(m), WindowEnd: at(m + 5), Revision: revision}
	}
	latest := state.State{Windows: []snapshot.Snapshot{snap(0, 0), snap(5, 0)}, Published: []state.Span{{Start: at(0), End: at(10)}}}
	for _, tc := range []struct {
		name      string
		at        int
		revision  int
		keep      int
		wantFirst []int // window starts of the latest windows, in minutes
		wantSpans int
	}{
		{"follows", 10, 0, 3, []int{0, 5, 10}, 1},
		{"follows, keeping two", 10, 0, 2, []int{5, 10}, 1},
		{"after a gap", 30, 0, 3, []int{30}, 2},
		{"older", -30, 0, 3, []int{0, 5}, 2},
		{"a revision", 0, 1, 3, []int{0, 5}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := Window{Start: at(tc.at), End: at(tc.at + 5)}
			next := committed(latest, w, tc.revision, snap(tc.at, tc.revision), tc.keep)
			var got []int
			for _, s := range next.Windows {
				got = append(got, int(s.WindowStart.Sub(base)/time.Minute))
			}
			if !slices.Equal(got, tc.wantFirst) || len(next.Published) != tc.wantSpans {
				t.Errorf("windows %v, %d spans; want %v, %d", got, len(next.Published), tc.wantFirst, tc.wantSpans)
			}
			if tc.revision > 0 && next.Windows[0].Revision != tc.revision {
				t.Errorf("revision %d of 09:00 not in place of revision 0", tc.revision)
			}
			if len(latest.Windows) != 2 || latest.Windows[0].Revision != 0 {
				t.Error("committed changed the state it was given")
			}
		})
	}
}

// recordingTable keeps the windows whose events reached the table topic.
type recordingTable struct{ windows []string }

func (r *recordingTable) PublishTable(_ context.Context, events schema.Events) error {
	h := events.Slice(events.Len()-1, events.Len())[0].Head()
	r.windows = append(r.windows, h.WindowStart.Format("15:04")+" r"+strconv.Itoa(h.Revision))
	return nil
}

// TestOnlyTheLatestWindowReachesTheTable: a window that becomes the
// stream's latest and a revision of the latest reach the table; a window
// older than the latest (a backfill, once in a gap) and a revision of an
// older window do not, so no key of the table moves back in time.
func TestOnlyTheLatestWindowReachesTheTable(t *testing.T) {
	f := newFixture(t)
	table := &recordingTable{}
	f.tx.deps.Table = table
	at := func(m int) Window {
		return Window{Start: f.w.Start.Add(time.Duration(m) * time.Minute), End: f.w.Start.Add(time.Duration(m+5) * time.Minute)}
	}
	st := f.st
	run := func(w Window, revision int) {
		t.Helper()
		job := Job{Window: w, Revision: revision}
		if revision > 0 {
			for i := range st.Windows {
				if st.Windows[i].WindowStart.Equal(w.Start) {
					job.Base = &st.Windows[i]
				}
			}
			f.fetcher.rows = append(f.fetcher.rows, fetch.Row{DNIS: "57300" + strconv.Itoa(len(f.fetcher.rows))}) // late data
		} else if last, ok := st.Last(); ok && last.WindowEnd.Equal(w.Start) {
			job.Base = &last
		}
		var err error
		if st, _, err = f.tx.Run(t.Context(), st, job); err != nil {
			t.Fatal(err)
		}
	}
	f.tx.deps.Keep = 3
	run(at(10), 0) // the first window: the latest
	run(at(15), 0) // follows it: the latest
	run(at(0), 0)  // older (a backfill): not
	run(at(10), 1) // a revision of an older window: not; the latest gets the dnis_gone it makes due (snapshot.Follow), as revision 1
	run(at(15), 2) // a revision of the latest
	if want := []string{"09:10 r0", "09:15 r0", "09:15 r1", "09:15 r2"}; !slices.Equal(table.windows, want) {
		t.Errorf("the table got %v, want %v", table.windows, want)
	}
}
