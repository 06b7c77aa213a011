package consume_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
)

// bogota is the operation's zone in the tests (fixed, so that the tests do
// not depend on the host's tzdata).
var bogota = time.FixedZone("COT", -5*3600)

var firstStart = time.Date(2025, 3, 9, 10, 0, 0, 0, bogota)

// calls returns plausible metrics with inbound calls, of which answered
// were answered.
func calls(inbound, answered int64) schema.Metrics {
	abandoned := inbound - answered
	return schema.Metrics{
		InboundCalls:       schema.IntOf(inbound),
		AnswerCalls:        schema.IntOf(answered),
		AbandonCalls:       schema.IntOf(abandoned),
		ServiceLevel10sPct: schema.FloatOf(40),
		ServiceLevel20sPct: schema.FloatOf(87.5),
		ServiceLevel30sPct: schema.FloatOf(93.75),
		AbandonPct:         schema.FloatOf(float64(100*abandoned) / float64(max(inbound, 1))),
		ASASeconds:         schema.FloatOf(12.25),
	}
}

func row(dnis string, m schema.Metrics) fetch.Row { return fetch.Row{DNIS: dnis, Metrics: m} }

// window is the n-th five-minute window after firstStart of skill 12 with
// rows.
func window(n int, rows ...fetch.Row) snapshot.Window {
	start := firstStart.Add(time.Duration(n) * 5 * time.Minute)
	return snapshot.Window{
		Operation: "0032",
		SkillID:   "12",
		Start:     start,
		End:       start.Add(5 * time.Minute),
		FetchedAt: start.Add(6 * time.Minute).UTC(),
		Producer:  schema.Producer{Name: "skill6pub", Version: "test"},
		Report:    fetch.Report{Rows: rows},
	}
}

// twoWindows returns window 0 (A, B, C, all new) and window 1 (A
// unchanged, B changed, D new, C gone), as the producer builds them.
func twoWindows() (first, second snapshot.Output) {
	first = snapshot.Diff(nil, window(0, row("A", calls(2, 2)), row("B", calls(3, 1)), row("C", calls(1, 1))))
	second = snapshot.Diff(&first.Snapshot, window(1, row("A", calls(2, 2)), row("B", calls(4, 4)), row("D", calls(5, 3))))
	return first, second
}

// records encodes out's events as the producer sends them and decodes them
// back as the Reader does, at increasing offsets of partition 0.
func records(t *testing.T, out snapshot.Output) []consume.Record {
	t.Helper()
	var recs []consume.Record
	for i, e := range out.Events.All() {
		recs = append(recs, eventRecord(t, e, int64(i)))
	}
	return recs
}

func eventRecord(t *testing.T, e schema.Event, offset int64) consume.Record {
	t.Helper()
	m, err := schema.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := consume.Decode(m.Value)
	if err != nil {
		t.Fatal(err)
	}
	return consume.Record{Offset: offset, Key: string(m.Key), Value: m.Value, Event: ev}
}

func deadLetterRecord(t *testing.T, d schema.DeadLetter, offset int64) consume.Record {
	t.Helper()
	m, err := schema.EncodeDeadLetter(d)
	if err != nil {
		t.Fatal(err)
	}
	var back schema.DeadLetter
	if err := json.Unmarshal(m.Value, &back); err != nil {
		t.Fatal(err)
	}
	return consume.Record{Offset: offset, Key: string(m.Key), Value: m.Value, DeadLetter: &back}
}

func keyOf(out snapshot.Output) consume.WindowKey {
	s := out.Snapshot
	return consume.WindowKey{Operation: "0032", SkillID: "12", Start: s.WindowStart.UTC(), Revision: s.Revision}
}

func addAll(l *consume.Ledger, recs []consume.Record) {
	for _, r := range recs {
		l.Add(r)
	}
}

// without returns recs without the records whose event type is eventType
// (the first one only when firstOnly).
func without(recs []consume.Record, eventType string, firstOnly bool) (kept, dropped []consume.Record) {
	for _, r := range recs {
		if r.Event.Head().EventType == eventType && (!firstOnly || len(dropped) == 0) {
			dropped = append(dropped, r)
			continue
		}
		kept = append(kept, r)
	}
	return kept, dropped
}

func wantNoProblems(t *testing.T, l *consume.Ledger) {
	t.Helper()
	if p := l.Problems(); len(p) > 0 {
		t.Errorf("Problems() = %q, want none", p)
	}
}

// wantProblem checks that exactly one problem contains every part.
func wantProblem(t *testing.T, l *consume.Ledger, parts ...string) {
	t.Helper()
	problems := l.Problems()
	n := 0
	for _, p := range problems {
		if containsAll(p, parts) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Problems() = %q, want one problem containing %q", problems, parts)
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func TestLedgerCompleteWindows(t *testing.T) {
	first, second := twoWindows()
	l := consume.NewLedger()
	addAll(l, records(t, first))
	addAll(l, records(t, second))

	wantNoProblems(t, l)
	closed := l.Closed()
	if len(closed) != 2 || closed[0].Key != keyOf(first) || closed[1].Key != keyOf(second) {
		t.Fatalf("Closed() = %v, want the tallies of %v and %v in that order", closed, keyOf(first), keyOf(second))
	}
	type counts struct{ New, Changed, Unchanged, Revised, Gone, DNISEvents int }
	for _, c := range []struct {
		tally    *consume.Tally
		want     counts
		closedID string
	}{
		{closed[0], counts{New: 3, DNISEvents: 3}, first.Events.All()[first.Events.Len()-1].Head().EventID},
		{closed[1], counts{New: 1, Changed: 1, Unchanged: 1, Gone: 1, DNISEvents: 3}, second.Events.All()[second.Events.Len()-1].Head().EventID},
	} {
		tl := c.tally
		got := counts{tl.New, tl.Changed, tl.Unchanged, tl.Revised, tl.Gone, tl.DNISEvents()}
		if got != c.want {
			t.Errorf("%v: counts %+v, want %+v", tl.Key, got, c.want)
		}
		if !tl.Complete() {
			t.Errorf("%v: not Complete with every event of its window_closed", tl.Key)
		}
		if tl.Closed == nil || tl.Closed.EventID != c.closedID {
			t.Errorf("%v: Closed = %+v, want its window_closed", tl.Key, tl.Closed)
		}
	}
	if l.Tally(keyOf(second)) != closed[1] {
		t.Errorf("Tally(%v) is not the tally Closed() lists", keyOf(second))
	}
	if l.Duplicates != 0 || l.LateDuplicates != 0 {
		t.Errorf("Duplicates %d, LateDuplicates %d, want 0", l.Duplicates, l.LateDuplicates)
	}
}

func TestLedgerEmptyWindowIsComplete(t *testing.T) {
	l := consume.NewLedger()
	empty := snapshot.Diff(nil, window(0))
	addAll(l, records(t, empty))
	wantNoProblems(t, l)
	if tl := l.Tally(keyOf(empty)); tl == nil || !tl.Complete() {
		t.Errorf("a window without rows, with its window_closed: tally %+v, want Complete", tl)
	}
}

// A window_closed can be read before events of its window that sit on
// other partitions: the window is not complete until they arrive.
func TestLedgerWindowClosedBeforeItsEvents(t *testing.T) {
	_, second := twoWindows()
	cases := []struct {
		name      string
		eventType string
		problem   []string
	}{
		{"a dnis_window missing", schema.TypeDNISWindow, []string{keyOf(second).String(), "window_closed says 3 dnis_window events, 2 arrived"}},
		{"a dnis_gone missing", schema.TypeDNISGone, []string{keyOf(second).String(), "window_closed says 1 gone, 0 dnis_gone events arrived"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kept, late := without(records(t, second), c.eventType, true)
			l := consume.NewLedger()
			addAll(l, kept)
			tl := l.Tally(keyOf(second))
			if tl == nil || tl.Closed == nil {
				t.Fatalf("tally %+v, want one with its window_closed", tl)
			}
			if tl.Complete() {
				t.Error("Complete with an event of its window_closed missing")
			}
			if len(l.Closed()) != 1 {
				t.Errorf("Closed() = %v, want the window: its window_closed arrived", l.Closed())
			}
			wantProblem(t, l, c.problem...)

			addAll(l, late)
			if !tl.Complete() {
				t.Error("not Complete once the missing event arrived")
			}
			wantNoProblems(t, l)
		})
	}
}

func TestLedgerEventsWithoutWindowClosed(t *testing.T) {
	first, _ := twoWindows()
	kept, _ := without(records(t, first), schema.TypeWindowClosed, false)
	l := consume.NewLedger()
	addAll(l, kept)
	if closed := l.Closed(); len(closed) != 0 {
		t.Errorf("Closed() = %v, want none", closed)
	}
	tl := l.Tally(keyOf(first))
	if tl == nil || tl.DNISEvents() != 3 || tl.Complete() {
		t.Errorf("tally %+v, want 3 DNIS events and not Complete", tl)
	}
	wantProblem(t, l, keyOf(first).String(), "3 DNIS events", "no window_closed")
}

// Delivery is at least once: a window published twice carries the same ids
// and the same bytes, and the copies are not counted twice.
func TestLedgerIdenticalDuplicates(t *testing.T) {
	first, second := twoWindows()
	l := consume.NewLedger()
	addAll(l, records(t, first))
	addAll(l, records(t, second))
	again := records(t, second)
	addAll(l, again)

	wantNoProblems(t, l)
	if l.Duplicates != len(again) {
		t.Errorf("Duplicates = %d, want %d", l.Duplicates, len(again))
	}
	if l.LateDuplicates != 0 {
		t.Errorf("LateDuplicates = %d, want 0: the copies follow their own window", l.LateDuplicates)
	}
	tl := l.Tally(keyOf(second))
	if tl.New != 1 || tl.Changed != 1 || tl.Unchanged != 1 || tl.Gone != 1 || !tl.Complete() {
		t.Errorf("tally %+v after a second copy, want it counted once and Complete", tl)
	}
}

func TestLedgerDuplicateWithOtherContent(t *testing.T) {
	first, _ := twoWindows()
	recs := records(t, first)
	l := consume.NewLedger()
	addAll(l, recs)

	// The same event id re-published with other metrics.
	var changed *schema.DNISWindow
	for _, e := range first.Events.All() {
		if w, ok := e.(*schema.DNISWindow); ok && w.DNIS == "B" {
			c := *w
			changed = &c
		}
	}
	changed.Metrics = calls(9, 9)
	l.Add(eventRecord(t, changed, int64(len(recs))))

	wantProblem(t, l, changed.EventID, "different payload")
	if l.Duplicates != 1 {
		t.Errorf("Duplicates = %d, want 1", l.Duplicates)
	}
	if tl := l.Tally(keyOf(first)); tl.New != 3 {
		t.Errorf("tally %+v, want the differing copy not counted again", tl)
	}
}

func TestLedgerRevisionsHaveTheirOwnKey(t *testing.T) {
	first, _ := twoWindows()
	// A re-fetch of window 0: B's metrics changed, C vanished, E appeared.
	revision, changed := snapshot.Revise(first.Snapshot, window(0, row("A", calls(2, 2)), row("B", calls(3, 3)), row("E", calls(1, 0))))
	if !changed {
		t.Fatal("Revise found no change")
	}
	l := consume.NewLedger()
	addAll(l, records(t, first))
	addAll(l, records(t, revision))
	wantNoProblems(t, l)

	r0, r1 := keyOf(first), keyOf(revision)
	if r1.Revision != 1 || r1.Start != r0.Start {
		t.Fatalf("revision key %v, want revision 1 of %v", r1, r0)
	}
	closed := l.Closed()
	if len(closed) != 2 || closed[0].Key != r0 || closed[1].Key != r1 {
		t.Fatalf("Closed() = %v, want %v then %v", closed, r0, r1)
	}
	if tl := closed[0]; tl.New != 3 || tl.Revised != 0 || tl.Gone != 0 {
		t.Errorf("revision 0 tally %+v, want its 3 new DNIS only", tl)
	}
	if tl := closed[1]; tl.New != 1 || tl.Revised != 1 || tl.Gone != 1 || tl.DNISEvents() != 2 || !tl.Complete() {
		t.Errorf("revision 1 tally %+v, want 1 new, 1 revised, 1 gone, Complete", tl)
	}
}

// A revision's window_closed counts its new and revised dnis_window events
// (dnis_window_events), not the rows of the window: the revision is
// complete when those arrived.
func TestLedgerRevisionClosedBeforeItsEvents(t *testing.T) {
	first, _ := twoWindows()
	revision, _ := snapshot.Revise(first.Snapshot, window(0, row("A", calls(2, 2)), row("B", calls(3, 3)), row("C", calls(1, 1))))
	kept, late := without(records(t, revision), schema.TypeDNISWindow, true)
	l := consume.NewLedger()
	addAll(l, records(t, first))
	addAll(l, kept)

	tl := l.Tally(keyOf(revision))
	if tl == nil || tl.Closed == nil || tl.Closed.DNISWindowEvents != 1 {
		t.Fatalf("tally %+v, want the revision's window_closed counting 1 dnis_window", tl)
	}
	if tl.Complete() {
		t.Error("revision Complete before its revised dnis_window arrived")
	}
	wantProblem(t, l, keyOf(revision).String(), "1 dnis_window events", "0 arrived")

	addAll(l, late)
	if !tl.Complete() {
		t.Error("revision not Complete once its dnis_window arrived")
	}
	wantNoProblems(t, l)
}

func TestLedgerDeadLetters(t *testing.T) {
	w := window(0, row("A", calls(2, 2)))
	w.Report.Rejected = []fetch.RejectedRow{
		{Index: 1, Raw: json.RawMessage(`{"dnis":"B","inbound_calls":"lots"}`), Reason: "inbound_calls: not a number"},
		{Index: 4, Raw: json.RawMessage(`{"dnis":"C"}`), Reason: "no metrics"},
	}
	out := snapshot.Diff(nil, w)
	if len(out.DeadLetters) != 2 {
		t.Fatalf("Diff gave %d dead letters, want 2", len(out.DeadLetters))
	}
	events := out.Events.All()
	eventDead := schema.EventDeadLetter(events[0], []byte(`{"too":"large"}`), "message too large")

	l := consume.NewLedger()
	l.CheckDeadLetters = true
	addAll(l, records(t, out))
	l.Add(deadLetterRecord(t, out.DeadLetters[0], 0))
	// Until the second row's dead letter arrives, the window_closed's
	// rejected_rows disagree with the dead letters.
	wantProblem(t, l, keyOf(out).String(), "window_closed says 2 rejected rows, 1 row dead letters arrived")

	l.Add(deadLetterRecord(t, out.DeadLetters[1], 1))
	l.Add(deadLetterRecord(t, eventDead, 2))
	l.Add(deadLetterRecord(t, out.DeadLetters[0], 3)) // a copy
	wantNoProblems(t, l)

	got := l.DeadLetters()
	var ids []string
	for _, d := range got {
		ids = append(ids, d.DeadLetterID)
	}
	want := []string{out.DeadLetters[0].DeadLetterID, out.DeadLetters[1].DeadLetterID, eventDead.DeadLetterID}
	if !slices.Equal(ids, want) {
		t.Errorf("DeadLetters() ids = %q, want %q (first copies in arrival order)", ids, want)
	}
	if got[1].Reason != "no metrics" || got[1].RowIndex != schema.IntOf(4) || got[1].Source != schema.DeadLetterRow {
		t.Errorf("second dead letter = %+v, want row 4's", got[1])
	}
	if l.DeadLetterDuplicates != 1 || l.Duplicates != 0 {
		t.Errorf("DeadLetterDuplicates %d, Duplicates %d, want 1 and 0", l.DeadLetterDuplicates, l.Duplicates)
	}
	tl := l.Tally(keyOf(out))
	if tl.RowDeadLetters != 2 || tl.EventDeadLetters != 1 || !tl.Complete() {
		t.Errorf("tally %+v, want 2 row and 1 event dead letters, Complete", tl)
	}
}

func TestLedgerDeadLettersUncheckedByDefault(t *testing.T) {
	w := window(0, row("A", calls(2, 2)))
	w.Report.Rejected = []fetch.RejectedRow{{Index: 1, Raw: json.RawMessage(`{}`), Reason: "empty row"}}
	l := consume.NewLedger()
	addAll(l, records(t, snapshot.Diff(nil, w)))
	// Without CheckDeadLetters the dead-letter topic is not being read: its
	// absence is not a problem.
	wantNoProblems(t, l)
}

func TestLedgerDifferingDeadLetterCopy(t *testing.T) {
	w := window(0)
	w.Report.Rejected = []fetch.RejectedRow{{Index: 0, Raw: json.RawMessage(`{"dnis":"B"}`), Reason: "no metrics"}}
	out := snapshot.Diff(nil, w)
	other := out.DeadLetters[0]
	other.Reason = "another reason"
	l := consume.NewLedger()
	l.Add(deadLetterRecord(t, out.DeadLetters[0], 0))
	l.Add(deadLetterRecord(t, other, 1))
	wantProblem(t, l, other.DeadLetterID, "different payload")
	if got := l.DeadLetters(); len(got) != 1 || got[0].Reason != "no metrics" {
		t.Errorf("DeadLetters() = %+v, want the first copy only", got)
	}
}

// Windows of a key are published in order: the first copy of an older
// window after a newer one is a problem, a re-sent copy landing late is
// only counted.
func TestLedgerWindowOrderPerKey(t *testing.T) {
	first, second := twoWindows()
	firstA := eventOf(t, first, "A")
	secondA := eventOf(t, second, "A")

	t.Run("late re-sent copy", func(t *testing.T) {
		l := consume.NewLedger()
		l.Add(eventRecord(t, firstA, 0))
		l.Add(eventRecord(t, secondA, 1))
		l.Add(eventRecord(t, firstA, 2))
		if l.Duplicates != 1 || l.LateDuplicates != 1 {
			t.Errorf("Duplicates %d, LateDuplicates %d, want 1 and 1", l.Duplicates, l.LateDuplicates)
		}
		for _, p := range l.Problems() {
			if strings.Contains(p, "arrived after") {
				t.Errorf("problem %q for a late duplicate", p)
			}
		}
	})
	t.Run("first copy out of order", func(t *testing.T) {
		l := consume.NewLedger()
		l.Add(eventRecord(t, secondA, 0))
		l.Add(eventRecord(t, firstA, 1))
		wantProblem(t, l, "key 0032:12:A", "window "+firstA.WindowStart.Format(time.RFC3339)+" arrived after window "+secondA.WindowStart.Format(time.RFC3339))
		if l.LateDuplicates != 0 {
			t.Errorf("LateDuplicates = %d, want 0", l.LateDuplicates)
		}
	})
	t.Run("a revision of an older window is not out of order", func(t *testing.T) {
		revision, _ := snapshot.Revise(first.Snapshot, window(0, row("A", calls(7, 7)), row("B", calls(3, 1)), row("C", calls(1, 1))))
		l := consume.NewLedger()
		l.Add(eventRecord(t, secondA, 0))
		l.Add(eventRecord(t, eventOf(t, revision, "A"), 1))
		for _, p := range l.Problems() {
			if strings.Contains(p, "arrived after") {
				t.Errorf("problem %q for a revision", p)
			}
		}
		// Nor does the revision move the key's latest window back.
		l.Add(eventRecord(t, firstA, 2))
		wantProblem(t, l, "key 0032:12:A", "window "+firstA.WindowStart.Format(time.RFC3339)+" arrived after")
	})
}

// eventOf returns the dnis_window of dnis in out.
func eventOf(t *testing.T, out snapshot.Output, dnis string) *schema.DNISWindow {
	t.Helper()
	for _, e := range out.Events.All() {
		if w, ok := e.(*schema.DNISWindow); ok && w.DNIS == dnis {
			return w
		}
	}
	t.Fatalf("no dnis_window of %s", dnis)
	return nil
}

func TestLedgerUndecodedRecord(t *testing.T) {
	l := consume.NewLedger()
	l.Add(consume.Record{Partition: 2, Offset: 17, Value: []byte("not json")})
	wantProblem(t, l, "partition 2 offset 17", "neither an event nor a dead letter")
	if len(l.Closed()) != 0 || len(l.DeadLetters()) != 0 {
		t.Error("an undecoded record was tallied")
	}
}
