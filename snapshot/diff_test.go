package snapshot_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/snapshot"
)

func TestDiff(t *testing.T) {
	a, b := calls(2, 2, 100, 5), calls(3, 1, 33.33, 40)
	nan := a
	nan.ASASeconds = schema.FloatOf(math.NaN())
	otherKey := previousSnapshot(row("A", a))
	otherKey.DNISKeyID = "0123456789abcdef"
	cases := []struct {
		name   string
		prev   *snapshot.Snapshot
		cur    snapshot.Window
		report func(*fetch.Report)
		want   []string
	}{
		{
			name: "first window after a fresh start: all new, previous unknown",
			cur:  window(row("B", a), row("A", b)),
			want: []string{
				"window r0 A new (previous unknown)",
				"window r0 B new (previous unknown)",
				"closed r0 rows=2 merged=0 rejected=0 events=2 gone=0 repeat=0 known=false prev=- ",
			},
		},
		{
			name: "new, changed, unchanged and gone against the previous window",
			prev: previousSnapshot(row("A", a), row("B", a), row("C", a)),
			cur:  window(row("D", a), row("C", b), row("B", a)),
			want: []string{
				"window r0 B unchanged",
				"window r0 C changed",
				"window r0 D new",
				"gone r0 A",
				"closed r0 rows=3 merged=0 rejected=0 events=3 gone=1 repeat=2 known=true prev=09:55 ",
			},
		},
		{
			name: "every DNIS gone: an empty window still closes",
			prev: previousSnapshot(row("A", a), row("B", b)),
			cur:  window(),
			report: func(r *fetch.Report) {
				r.NoData = true
			},
			want: []string{
				"gone r0 A",
				"gone r0 B",
				"closed r0 rows=0 merged=0 rejected=0 events=0 gone=2 repeat=0 known=true prev=09:55 no_data",
			},
		},
		{
			name: "empty first window",
			cur:  window(),
			want: []string{"closed r0 rows=0 merged=0 rejected=0 events=0 gone=0 repeat=0 known=false prev=- "},
		},
		{
			name: "previous window known but empty: all new, previous known",
			prev: previousSnapshot(),
			cur:  window(row("A", a)),
			want: []string{
				"window r0 A new",
				"closed r0 rows=1 merged=0 rejected=0 events=1 gone=0 repeat=0 known=true prev=09:55 ",
			},
		},
		{
			name:   "a response at the row cap says it may be truncated",
			cur:    window(row("A", a)),
			report: func(r *fetch.Report) { r.MaybeTruncated = true },
			want: []string{
				"window r0 A new (previous unknown)",
				"closed r0 rows=1 merged=0 rejected=0 events=1 gone=0 repeat=0 known=false prev=- truncated",
			},
		},
		{
			name: "rejected rows are counted, the rest is published",
			prev: previousSnapshot(row("A", a)),
			cur:  window(row("A", a)),
			report: func(r *fetch.Report) {
				r.Rejected = []fetch.RejectedRow{{Index: 1, Raw: json.RawMessage(`{"dnis":"B"}`), Reason: "x"}, {Index: 2, Raw: json.RawMessage(`7`), Reason: "y"}}
			},
			want: []string{
				"window r0 A unchanged",
				"closed r0 rows=1 merged=0 rejected=2 events=1 gone=0 repeat=1 known=true prev=09:55 ",
			},
		},
		{
			name: "a row the schema refuses goes to the dead letters, not into the window",
			prev: previousSnapshot(row("A", a), row("B", a)),
			cur:  window(row("A", nan), row("B", a)),
			want: []string{
				"window r0 B unchanged",
				"gone r0 A",
				"closed r0 rows=1 merged=0 rejected=1 events=1 gone=1 repeat=1 known=true prev=09:55 ",
			},
		},
		{
			name: "the same DNIS twice in a response is merged into one event",
			prev: previousSnapshot(row("A", a)),
			cur:  window(row("A", a), row("B", b), row("A", b)),
			want: []string{
				"window r0 A changed x2",
				"window r0 B new",
				"closed r0 rows=2 merged=1 rejected=0 events=2 gone=0 repeat=1 known=true prev=09:55 ",
			},
		},
		{
			name: "a previous snapshot of another DNIS key is not compared",
			prev: otherKey,
			cur:  window(row("A", a)),
			want: []string{
				"window r0 A new (previous unknown)",
				"closed r0 rows=1 merged=0 rejected=0 events=1 gone=0 repeat=0 known=false prev=- ",
			},
		},
		{
			name: "a previous snapshot written out of order by hand still compares",
			prev: previousSnapshot(row("C", a), row("A", a), row("C", a)),
			cur:  window(row("A", a), row("B", a)),
			want: []string{
				"window r0 A unchanged",
				"window r0 B new",
				"gone r0 C",
				"closed r0 rows=2 merged=0 rejected=0 events=2 gone=1 repeat=1 known=true prev=09:55 ",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.report != nil {
				c.report(&c.cur.Report)
			}
			out := snapshot.Diff(c.prev, c.cur)
			events := out.Events.All()
			if got := summary(events); !slices.Equal(got, c.want) {
				t.Errorf("events:\n got %q\nwant %q", got, c.want)
			}
			closed := events[len(events)-1].(*schema.WindowClosed)
			if len(out.DeadLetters) != closed.RejectedRows {
				t.Errorf("%d dead letters, window_closed says %d rejected", len(out.DeadLetters), closed.RejectedRows)
			}
			if len(out.Snapshot.Rows) != closed.RowCount || len(out.Snapshot.Repeaters) != closed.RepeatCallers {
				t.Errorf("snapshot has %d rows and %d repeaters; window_closed says %d and %d",
					len(out.Snapshot.Rows), len(out.Snapshot.Repeaters), closed.RowCount, closed.RepeatCallers)
			}
		})
	}
}

func TestDiffPreviousAndDelta(t *testing.T) {
	prev := schema.Metrics{InboundCalls: schema.IntOf(1), AnswerCalls: schema.IntOf(1), ServiceLevel10sPct: schema.FloatOf(28.8), ASASeconds: schema.FloatOf(3)}
	cur := schema.Metrics{InboundCalls: schema.IntOf(4), AnswerCalls: schema.IntOf(1), ServiceLevel10sPct: schema.FloatOf(28.81), ATASeconds: schema.FloatOf(9)}
	out := snapshot.Diff(previousSnapshot(row("A", prev)), window(row("A", cur)))
	w := out.Events.All()[0].(*schema.DNISWindow)
	if w.Previous == nil || *w.Previous != prev {
		t.Errorf("previous = %+v, want %+v", w.Previous, prev)
	}
	want := schema.Metrics{
		InboundCalls:       schema.IntOf(3),
		AnswerCalls:        schema.IntOf(0),
		ServiceLevel10sPct: schema.FloatOf(0.01), // not 0.00999999999999801
		// null where either side is null: abandon_calls (both), asa (current), ata (previous)
	}
	if w.Delta == nil || *w.Delta != want {
		t.Errorf("delta = %+v, want %+v", w.Delta, want)
	}
}

func TestDiffTotalsAreCallWeighted(t *testing.T) {
	rows := []fetch.Row{
		row("A", schema.Metrics{InboundCalls: schema.IntOf(3), AnswerCalls: schema.IntOf(2), AbandonCalls: schema.IntOf(1),
			ServiceLevel20sPct: schema.FloatOf(50), AbandonPct: schema.FloatOf(33.33), ASASeconds: schema.FloatOf(10), ATASeconds: schema.FloatOf(40)}),
		row("B", schema.Metrics{InboundCalls: schema.IntOf(1), AnswerCalls: schema.IntOf(1), AbandonCalls: schema.IntOf(0),
			ServiceLevel20sPct: schema.FloatOf(100), AbandonPct: schema.FloatOf(0), ASASeconds: schema.FloatOf(20), ATASeconds: schema.FloatOf(99)}),
		// No calls: its service level weighs nothing.
		row("C", schema.Metrics{InboundCalls: schema.IntOf(0), ServiceLevel20sPct: schema.FloatOf(0)}),
		// No inbound count: its calls are unknown and weigh nothing.
		row("D", schema.Metrics{ServiceLevel20sPct: schema.FloatOf(0), AnswerCalls: schema.IntOf(1)}),
	}
	out := snapshot.Diff(nil, window(rows...))
	got := out.Events.Slice(out.Events.Len()-1, out.Events.Len())[0].(*schema.WindowClosed).Totals
	want := schema.Totals{
		InboundCalls:       4,
		AnswerCalls:        4,
		AbandonCalls:       1,
		ServiceLevel20sPct: schema.FloatOf(62.5), // (50*3 + 100*1) / 4, weighted by inbound
		// Two decimals, as wolkvox writes its figures:
		AbandonPct: schema.FloatOf(25),    // (33.33*3 + 0*1) / 4 = 24.9975
		ASASeconds: schema.FloatOf(13.33), // (10*2 + 20*1) / 3, weighted by answered (D has no ASA)
		ATASeconds: schema.FloatOf(40),    // weighted by abandoned: B abandoned none
	}
	if got != want {
		t.Errorf("totals:\n got %+v\nwant %+v", got, want)
	}
}

func TestDiffMergesDuplicateDNIS(t *testing.T) {
	first := schema.Metrics{InboundCalls: schema.IntOf(3), AnswerCalls: schema.IntOf(3), AbandonCalls: schema.IntOf(0),
		ServiceLevel20sPct: schema.FloatOf(100), ASASeconds: schema.FloatOf(10)}
	second := schema.Metrics{InboundCalls: schema.IntOf(1), AnswerCalls: schema.IntOf(0), AbandonCalls: schema.IntOf(1),
		ServiceLevel20sPct: schema.FloatOf(0), AbandonPct: schema.FloatOf(100), ATASeconds: schema.FloatOf(50)}
	out := snapshot.Diff(nil, window(row("A", first), row("B", calls(1, 1, 100, 1)), row("A", second)))
	w := out.Events.All()[0].(*schema.DNISWindow)
	want := schema.Metrics{
		InboundCalls:       schema.IntOf(4),
		AnswerCalls:        schema.IntOf(3),
		AbandonCalls:       schema.IntOf(1),
		ServiceLevel20sPct: schema.FloatOf(75),  // (100*3 + 0*1) / 4
		AbandonPct:         schema.FloatOf(100), // only the second row has one
		ASASeconds:         schema.FloatOf(10),  // only answered calls weigh
		ATASeconds:         schema.FloatOf(50),
	}
	if w.DNIS != "A" || w.SourceRows != 2 || w.Metrics != want {
		t.Errorf("merged %s x%d = %+v, want %+v", w.DNIS, w.SourceRows, w.Metrics, want)
	}
	if out.Snapshot.Rows[0].Metrics != want {
		t.Errorf("the snapshot keeps %+v, not the merged row", out.Snapshot.Rows[0].Metrics)
	}
}

func TestDiffDeadLetters(t *testing.T) {
	bad := calls(1, 1, 100, 1)
	bad.AnswerCalls = schema.IntOf(-2)
	cur := window(row("A", calls(1, 1, 100, 1)), row("B", bad))
	cur.Report.Rejected = []fetch.RejectedRow{{Index: 7, Raw: json.RawMessage(`{"dnis":"C","asa":"abc"}`), Reason: `asa: "abc" is not a duration`}}
	out := snapshot.Diff(nil, cur)
	if len(out.DeadLetters) != 2 {
		t.Fatalf("%d dead letters, want 2: %+v", len(out.DeadLetters), out.DeadLetters)
	}
	rejected, refused := out.DeadLetters[0], out.DeadLetters[1]
	if rejected.Source != schema.DeadLetterRow || rejected.RowIndex != schema.IntOf(7) || rejected.Reason != `asa: "abc" is not a duration` ||
		string(rejected.Raw) != `{"dnis":"C","asa":"abc"}` || rejected.DNISHashed {
		t.Errorf("rejected row: %+v", rejected)
	}
	if refused.RowIndex.Valid || !strings.Contains(refused.Reason, "answer_calls") || !strings.Contains(string(refused.Raw), `"dnis":"B"`) ||
		!strings.Contains(string(refused.Raw), `"answer_calls":-2`) {
		t.Errorf("refused row: %+v raw %s", refused, refused.Raw)
	}
	for _, d := range out.DeadLetters {
		if d.Operation != "0032" || d.SkillID != "12" || !d.WindowStart.Equal(windowStart) || d.Revision != 0 || d.Producer.Version != "test" ||
			d.FetchedAt.Location() != bogota || len(d.DeadLetterID) != 32 {
			t.Errorf("dead letter lacks its window: %+v", d)
		}
	}
	if rejected.DeadLetterID == refused.DeadLetterID {
		t.Error("two dead letters share an id")
	}
}

// TestDiffPseudonymizes: with a key, the caller's number appears nowhere:
// not in the events' values, keys or headers, not in the dead letters, not
// in the snapshot kept on disk.
func TestDiffPseudonymizes(t *testing.T) {
	const number, rejectedNumber = "573001234567", "573009999999"
	hasher := schema.NewDNISHasher(secret.New("k"))
	prev := snapshot.Diff(nil, withHasher(window(row(number, calls(1, 1, 100, 2)), row("573000000001", calls(1, 1, 1, 1))), hasher)).Snapshot
	cur := withHasher(window(row(number, calls(2, 1, 50, 3))), hasher)
	cur.Report.Rejected = []fetch.RejectedRow{
		{Index: 3, Raw: json.RawMessage(`{"dnis":"` + rejectedNumber + `","asa":"x"}`), Reason: "bad asa"},
		{Index: 4, Raw: json.RawMessage(`["` + rejectedNumber + `"]`), Reason: "not an object"},
	}
	out := snapshot.Diff(&prev, cur)

	pseudonym := hasher.Hash(number)
	if got := summary(out.Events.All()); !slices.Equal(got[:1], []string{"window r0 " + pseudonym + " changed"}) {
		t.Errorf("events %q", got)
	}
	w := out.Events.All()[0].(*schema.DNISWindow)
	if !w.DNISHashed || w.Key() != "0032:12:"+pseudonym ||
		w.EventID != schema.EventID(schema.TypeDNISWindow, schema.IDScope{Operation: "0032", SkillID: "12", WindowStart: windowStart, WindowEnd: w.WindowEnd, PreviousWindowStart: &prev.WindowStart}, pseudonym) {
		t.Errorf("event not pseudonymized everywhere: %+v", w)
	}
	if !out.Events.All()[1].(*schema.DNISGone).DNISHashed {
		t.Error("dnis_gone does not say it is hashed")
	}
	if out.Snapshot.DNISKeyID != hasher.KeyID() {
		t.Error("the snapshot does not record the key id")
	}
	var all bytes.Buffer
	for _, e := range out.Events.All() {
		m, err := schema.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		writeMessage(&all, m)
	}
	for _, d := range out.DeadLetters {
		m, err := schema.EncodeDeadLetter(d)
		if err != nil {
			t.Fatal(err)
		}
		writeMessage(&all, m)
		if !d.DNISHashed {
			t.Error("a dead letter does not say it is hashed")
		}
	}
	state, _ := json.Marshal(out.Snapshot)
	all.Write(state)
	for _, n := range []string{number, rejectedNumber, "573000000001"} {
		if bytes.Contains(all.Bytes(), []byte(n)) {
			t.Errorf("%s left the service:\n%s", n, all.String())
		}
	}
	if !strings.Contains(all.String(), hasher.Hash(rejectedNumber)) || !strings.Contains(out.DeadLetters[1].Reason, "withheld") {
		t.Errorf("dead letters: %+v", out.DeadLetters)
	}
}

func withHasher(w snapshot.Window, h *schema.DNISHasher) snapshot.Window {
	w.Hasher = h
	return w
}

func writeMessage(b *bytes.Buffer, m schema.Message) {
	b.Write(m.Key)
	for _, h := range m.Headers {
		b.WriteString(h.Key)
		b.Write(h.Value)
	}
	b.Write(m.Value)
}

// TestDiffIsDeterministic: the same window, its rows in any order, gives
// the same bytes, ids included; publishing it again deduplicates.
func TestDiffIsDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var rows []fetch.Row
	for i := range 200 {
		rows = append(rows, row(string(rune('A'+i%26))+string(rune('a'+i/26)), calls(r.Int64N(5)+1, 1, r.Float64()*100, 7)))
	}
	prev := previousSnapshot(rows[50:150]...)
	encodeAll := func(rows []fetch.Row) []byte {
		var b bytes.Buffer
		for _, e := range snapshot.Diff(prev, window(rows...)).Events.All() {
			m, err := schema.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			writeMessage(&b, m)
		}
		return b.Bytes()
	}
	first := encodeAll(rows)
	shuffled := slices.Clone(rows)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if !bytes.Equal(encodeAll(shuffled), first) {
		t.Error("the order of the response's rows changed the events")
	}
	ids := map[string]bool{}
	for _, e := range snapshot.Diff(prev, window(rows...)).Events.All() {
		h := e.Head()
		if ids[h.EventID] {
			t.Errorf("id %s used twice", h.EventID)
		}
		ids[h.EventID] = true
		subject := schema.WindowSubject
		switch e := e.(type) {
		case *schema.DNISWindow:
			subject = e.DNIS
		case *schema.DNISGone:
			subject = e.DNIS
		}
		scope := schema.IDScope{Operation: h.Operation, SkillID: h.SkillID, WindowStart: h.WindowStart, WindowEnd: h.WindowEnd, Revision: h.Revision, PreviousWindowStart: &prev.WindowStart}
		if want := schema.EventID(h.EventType, scope, subject); h.EventID != want {
			t.Errorf("%s %s: id %s, want %s", h.EventType, subject, h.EventID, want)
		}
	}
}

func TestDiffEnvelope(t *testing.T) {
	out := snapshot.Diff(previousSnapshot(row("B", calls(1, 1, 1, 1))), window(row("A", calls(1, 1, 1, 1))))
	for _, e := range out.Events.All() {
		h := e.Head()
		if h.Operation != "0032" || h.SkillID != "12" || h.Revision != 0 || h.SchemaVersion != schema.Version ||
			h.Producer != (schema.Producer{Name: "skill6pub", Version: "test"}) || !h.WindowStart.Equal(windowStart) {
			t.Errorf("envelope %+v", h)
		}
		m, err := schema.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		// FetchedAt arrived in UTC; the events speak the operation's offset.
		for _, want := range []string{`"window_start":"2025-03-09T10:00:00-05:00"`, `"window_end":"2025-03-09T10:05:00-05:00"`, `"fetched_at":"2025-03-09T10:06:00.000-05:00"`} {
			if !strings.Contains(string(m.Value), want) {
				t.Errorf("%s lacks %s", m.Value, want)
			}
		}
	}
	closed := out.Events.All()[2].(*schema.WindowClosed)
	if !strings.Contains(mustEncode(t, closed), `"previous_window_start":"2025-03-09T09:55:00-05:00"`) {
		t.Errorf("previous_window_start: %s", mustEncode(t, closed))
	}
	snap := out.Snapshot
	if !snap.WindowStart.Equal(windowStart) || !snap.WindowEnd.Equal(windowStart.Add(5*time.Minute)) || snap.Revision != 0 ||
		snap.PreviousWindowStart == nil || !snap.PreviousWindowStart.Equal(previousStart) {
		t.Errorf("snapshot %+v", snap)
	}
}

func mustEncode(t *testing.T, e schema.Event) string {
	t.Helper()
	m, err := schema.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(m.Value)
}

// TestDiffAfterStateRoundTrip: a snapshot read back from JSON (zone names
// lost, as in the state store) compares like the one in memory.
func TestDiffAfterStateRoundTrip(t *testing.T) {
	first := snapshot.Diff(nil, window(row("A", calls(1, 1, 100, 2)), row("B", calls(2, 2, 100, 2))))
	b, err := json.Marshal(first.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	var back snapshot.Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	next := window(row("A", calls(1, 1, 100, 2)))
	next.Start, next.End = next.End, next.End.Add(5*time.Minute)
	out := snapshot.Diff(&back, next)
	want := []string{"window r0 A unchanged", "gone r0 B", "closed r0 rows=1 merged=0 rejected=0 events=1 gone=1 repeat=1 known=true prev=10:00 "}
	if got := summary(out.Events.All()); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if !strings.Contains(mustEncode(t, out.Events.All()[2]), `"previous_window_start":"2025-03-09T10:00:00-05:00"`) {
		t.Errorf("previous_window_start not in the operation's offset: %s", mustEncode(t, out.Events.All()[2]))
	}
}
