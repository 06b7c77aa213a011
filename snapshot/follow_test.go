package snapshot_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
)

// windowAt is window(rows...) moved to start.
func windowAt(start time.Time, rows ...fetch.Row) snapshot.Window {
	w := window(rows...)
	w.Start, w.End = start, start.Add(5*time.Minute)
	w.FetchedAt = w.End.Add(time.Minute)
	return w
}

// latestTable folds events the way the README tells consumers to: per key,
// the event with the newest window_start, and of that window the highest
// revision, wins; a dnis_gone winning deletes the key. It returns the DNIS
// left, sorted.
func latestTable(events ...[]schema.Event) []string {
	type rank struct {
		start    time.Time
		revision int
	}
	winner := map[string]schema.Event{}
	for _, es := range events {
		for _, e := range es {
			h := e.Head()
			if h.EventType == schema.TypeWindowClosed {
				continue
			}
			w, ok := winner[e.Key()]
			if ok {
				old := rank{w.Head().WindowStart, w.Head().Revision}
				if h.WindowStart.Before(old.start) || h.WindowStart.Equal(old.start) && h.Revision < old.revision {
					continue
				}
			}
			winner[e.Key()] = e
		}
	}
	var out []string
	for _, e := range winner {
		if w, ok := e.(*schema.DNISWindow); ok {
			out = append(out, w.DNIS)
		}
	}
	slices.Sort(out)
	return out
}

// A revision of W adds D, which W+1 (already published) lacks: Follow gives
// W+1 a revision with D's dnis_gone, and a consumer following the README's
// rule ends with exactly W+1's DNIS.
func TestFollowSendsWhatARevisionMeansForTheNextWindow(t *testing.T) {
	a, b := calls(2, 2, 100, 5), calls(3, 1, 33.33, 40)
	w := windowAt(windowStart, row("A", a), row("B", a))
	first := snapshot.Diff(previousSnapshot(row("A", a)), w)
	next := snapshot.Diff(&first.Snapshot, windowAt(windowStart.Add(5*time.Minute), row("B", b), row("C", a)))

	// The re-fetch of W: D and C are new, B changed; A stays.
	refetch := windowAt(windowStart, row("A", a), row("B", b), row("C", a), row("D", a))
	revision, changed := snapshot.Revise(first.Snapshot, refetch)
	if !changed {
		t.Fatal("no revision")
	}
	followed, ok := snapshot.Follow(first.Snapshot, revision.Snapshot, next.Snapshot, refetch)
	if !ok {
		t.Fatal("Follow sent nothing")
	}
	want := []string{
		"gone r1 D",
		"closed r1 rows=2 merged=0 rejected=0 events=0 gone=1 repeat=1 known=true prev=10:00 ",
	}
	if got := summary(followed.Events.All()); !slices.Equal(got, want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
	for _, e := range followed.Events.All() {
		if h := e.Head(); !h.WindowStart.Equal(next.Snapshot.WindowStart) || h.FetchedAt.Time != refetch.FetchedAt.In(bogota) {
			t.Errorf("%s: window %s fetched %s, want W+1's window fetched with the revision", h.EventType, h.WindowStart, h.FetchedAt)
		}
	}
	gone := followed.Events.All()[0].(*schema.DNISGone)
	if gone.Previous != a || gone.EventID != schema.EventID(schema.TypeDNISGone, schema.IDScope{Operation: "0032", SkillID: "12", WindowStart: next.Snapshot.WindowStart, WindowEnd: next.Snapshot.WindowEnd, Revision: 1, PreviousWindowStart: next.Snapshot.PreviousWindowStart}, "D") {
		t.Errorf("dnis_gone %+v: want D's revised metrics, id of W+1's revision 1", gone)
	}
	closed := followed.Events.All()[1].(*schema.WindowClosed)
	if closed.Totals != next.Events.All()[next.Events.Len()-1].(*schema.WindowClosed).Totals {
		t.Errorf("totals %+v, want W+1's", closed.Totals)
	}
	if s := followed.Snapshot; s.Revision != 1 || len(s.Rows) != 2 || !s.WindowStart.Equal(next.Snapshot.WindowStart) {
		t.Errorf("snapshot of W+1: revision %d, %d rows", s.Revision, len(s.Rows))
	}

	all := [][]schema.Event{first.Events.All(), next.Events.All(), revision.Events.All()}
	if got := latestTable(all...); slices.Equal(got, []string{"B", "C"}) {
		t.Fatalf("without Follow the table is already right (%v): the case tests nothing", got)
	}
	if got := latestTable(append(all, followed.Events.All())...); !slices.Equal(got, []string{"B", "C"}) {
		t.Errorf("consumer's table %v, want W+1's DNIS [B C]", got)
	}
	// The snapshot round-trips as the state store keeps it.
	raw, err := json.Marshal(followed.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	var back snapshot.Snapshot
	if err := json.Unmarshal(raw, &back); err != nil || back.Revision != 1 {
		t.Errorf("snapshot after JSON: %+v, %v", back, err)
	}
}

func TestFollowSendsNothingWhenNothingIsStale(t *testing.T) {
	a := calls(2, 2, 100, 5)
	first := snapshot.Diff(nil, windowAt(windowStart, row("A", a)))
	next := snapshot.Diff(&first.Snapshot, windowAt(windowStart.Add(5*time.Minute), row("A", a), row("B", a)))
	cases := map[string]struct {
		refetch snapshot.Window
		next    snapshot.Snapshot
	}{
		// B is added to W but W+1 has it.
		"added DNIS in the next window": {windowAt(windowStart, row("A", a), row("B", a)), next.Snapshot},
		// A vanished from W: W+1 has it, and its dnis_gone of W is W's own.
		"vanished DNIS": {windowAt(windowStart), next.Snapshot},
		// The next window was compared with another one (after a gap).
		"not compared with W": {windowAt(windowStart, row("C", a)), func() snapshot.Snapshot {
			s := next.Snapshot
			other := windowStart.Add(-time.Hour)
			s.PreviousWindowStart = &other
			return s
		}()},
	}
	for name, c := range cases {
		revision, changed := snapshot.Revise(first.Snapshot, c.refetch)
		if !changed {
			t.Fatalf("%s: no revision", name)
		}
		if out, ok := snapshot.Follow(first.Snapshot, revision.Snapshot, c.next, c.refetch); ok || out.Events.Len() != 0 || out.Snapshot.Revision != c.next.Revision {
			t.Errorf("%s: Follow sent %q, snapshot revision %d", name, summary(out.Events.All()), out.Snapshot.Revision)
		}
	}
}

// A bad row is one dead letter however many revisions see it: a revision
// sends the dead letters of the rows its window has not published, under
// ids that do not depend on the revision nor on the row's place.
func TestRevisionsSendEachBadRowOnce(t *testing.T) {
	a, b := calls(2, 2, 100, 5), calls(3, 1, 33.33, 40)
	bad := func(index int, raw string) fetch.RejectedRow {
		return fetch.RejectedRow{Index: index, Raw: json.RawMessage(raw), Reason: "inbound_calls: not a number"}
	}
	w := window(row("A", a))
	w.Report.Rejected = []fetch.RejectedRow{bad(1, `{"dnis":"X","inbound_calls":"x"}`), bad(2, `{"dnis":"X","inbound_calls":"x"}`)}
	first := snapshot.Diff(nil, w)
	if len(first.DeadLetters) != 2 || first.DeadLetters[0].DeadLetterID == first.DeadLetters[1].DeadLetterID {
		t.Fatalf("two identical bad rows: %d dead letters, ids must differ", len(first.DeadLetters))
	}

	// The re-fetch: A changed, the two bad rows moved, a third one came.
	again := window(row("A", b))
	again.Report.Rejected = []fetch.RejectedRow{bad(0, `{"dnis":"Y"}`), bad(2, `{"dnis":"X","inbound_calls":"x"}`), bad(3, `{"dnis":"X","inbound_calls":"x"}`)}
	second, changed := snapshot.Revise(first.Snapshot, again)
	if !changed {
		t.Fatal("no revision")
	}
	if len(second.DeadLetters) != 1 || string(second.DeadLetters[0].Raw) != `{"dnis":"Y"}` || second.DeadLetters[0].Revision != 1 {
		t.Fatalf("revision 1 sent %d dead letters (%+v), want only the new row's", len(second.DeadLetters), second.DeadLetters)
	}
	closed := second.Events.All()[second.Events.Len()-1].(*schema.WindowClosed)
	if closed.RejectedRows != 3 {
		t.Errorf("revision's window_closed counts %d rejected rows, want the 3 of the window", closed.RejectedRows)
	}

	// Another re-fetch with only the bad rows changed back: nothing new.
	third := window(row("A", b))
	third.Report.Rejected = again.Report.Rejected
	if out, changed := snapshot.Revise(second.Snapshot, third); changed {
		t.Errorf("the same rows again made revision %q with %d dead letters", summary(out.Events.All()), len(out.DeadLetters))
	}
	// A re-fetch that changes A again resends none of them.
	fourth := window(row("A", a))
	fourth.Report.Rejected = again.Report.Rejected
	out, _ := snapshot.Revise(second.Snapshot, fourth)
	if len(out.DeadLetters) != 0 {
		t.Errorf("revision 2 sent %d dead letters again", len(out.DeadLetters))
	}
	ids := map[string]bool{}
	for _, d := range append(first.DeadLetters, second.DeadLetters...) {
		ids[d.DeadLetterID] = true
	}
	if len(ids) != 3 || !slices.Equal(out.Snapshot.RejectedIDs, slices.Sorted(maps.Keys(ids))) {
		t.Errorf("snapshot keeps rejected ids %v, want the 3 published", out.Snapshot.RejectedIDs)
	}
}
