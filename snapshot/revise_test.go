package snapshot_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/snapshot"
)

func TestRevise(t *testing.T) {
	a, b := calls(2, 2, 100, 5), calls(3, 1, 33.33, 40)
	// What was published for the window: A, B and C; A and B had called in
	// the window before too.
	published := snapshot.Diff(previousSnapshot(row("A", a), row("B", a), row("Z", a)), window(row("A", a), row("B", a), row("C", a))).Snapshot
	rejected := []fetch.RejectedRow{{Index: 9, Raw: json.RawMessage(`{"dnis":"D"}`), Reason: "late row broken"}}
	cases := []struct {
		name      string
		published snapshot.Snapshot
		cur       snapshot.Window
		rejected  []fetch.RejectedRow
		changed   bool
		want      []string
	}{
		{
			name:      "an unchanged re-fetch yields nothing",
			published: published,
			cur:       window(row("C", a), row("A", a), row("B", a)),
		},
		{
			name:      "only the DNIS whose metrics changed are revised",
			published: published,
			cur:       window(row("A", a), row("B", b), row("C", a)),
			changed:   true,
			want: []string{
				"window r1 B revised",
				"closed r1 rows=3 merged=0 rejected=0 events=1 gone=0 repeat=2 known=true prev=09:55 ",
			},
		},
		{
			name:      "late rows and vanished rows",
			published: published,
			cur:       window(row("B", a), row("C", a), row("D", b)),
			changed:   true,
			want: []string{
				"window r1 D new",
				"gone r1 A",
				"closed r1 rows=3 merged=0 rejected=0 events=1 gone=1 repeat=1 known=true prev=09:55 ",
			},
		},
		{
			name:      "a different number of rejected rows is a revision",
			published: published,
			cur:       window(row("A", a), row("B", a), row("C", a)),
			rejected:  rejected,
			changed:   true,
			want:      []string{"closed r1 rows=3 merged=0 rejected=1 events=0 gone=0 repeat=2 known=true prev=09:55 "},
		},
		{
			name:      "a revision of a revision",
			published: snapshot.Snapshot{WindowStart: windowStart, WindowEnd: windowStart.Add(5 * time.Minute), Revision: 3, Rows: []fetch.Row{row("A", a)}},
			cur:       window(row("A", b)),
			changed:   true,
			want: []string{
				// The window before was unknown at revision 0: every
				// revision says so, its window_closed too.
				"window r4 A revised (previous unknown)",
				"closed r4 rows=1 merged=0 rejected=0 events=1 gone=0 repeat=0 known=false prev=- ",
			},
		},
		{
			name:      "published under another DNIS key: republished as new under this one",
			published: snapshot.Snapshot{WindowStart: windowStart, Rows: []fetch.Row{row("A", a)}, DNISKeyID: "0123456789abcdef"},
			cur:       window(row("A", a)),
			changed:   true,
			want: []string{
				"window r1 A new (previous unknown)",
				"closed r1 rows=1 merged=0 rejected=0 events=1 gone=0 repeat=0 known=false prev=- ",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cur.Report.Rejected = c.rejected
			out, changed := snapshot.Revise(c.published, c.cur)
			if changed != c.changed {
				t.Errorf("changed = %v, want %v", changed, c.changed)
			}
			if got := summary(out.Events.All()); !slices.Equal(got, c.want) {
				t.Errorf("events:\n got %q\nwant %q", got, c.want)
			}
			if len(out.DeadLetters) != len(c.rejected) {
				t.Errorf("%d dead letters, want %d", len(out.DeadLetters), len(c.rejected))
			}
			wantRevision := c.published.Revision
			if c.changed {
				wantRevision++
			}
			if out.Snapshot.Revision != wantRevision || len(out.Snapshot.Rows) != len(c.cur.Report.Rows) {
				t.Errorf("snapshot revision %d with %d rows, want %d with %d", out.Snapshot.Revision, len(out.Snapshot.Rows), wantRevision, len(c.cur.Report.Rows))
			}
		})
	}
}

func TestRevisedEventsCarryWhatWasPublished(t *testing.T) {
	before, after := calls(2, 2, 100, 5), calls(3, 1, 33.33, 40)
	first := snapshot.Diff(nil, window(row("A", before)))
	out, changed := snapshot.Revise(first.Snapshot, window(row("A", after)))
	if !changed {
		t.Fatal("no revision")
	}
	w := out.Events.All()[0].(*schema.DNISWindow)
	// The first window after a fresh start: its revisions, like it, say
	// that the window before was unknown.
	if w.Change != schema.ChangeRevised || *w.Previous != before || w.Metrics != after || w.Delta.InboundCalls != schema.IntOf(1) || w.PreviousWindowKnown {
		t.Errorf("revised event %+v", w)
	}
	original := first.Events.All()[0].Head().EventID
	if w.EventID == original || w.EventID != schema.EventID(schema.TypeDNISWindow, schema.IDScope{Operation: "0032", SkillID: "12", WindowStart: windowStart, WindowEnd: w.WindowEnd, Revision: 1}, "A") {
		t.Errorf("revision id %s (revision 0 had %s)", w.EventID, original)
	}
	closed := out.Events.All()[1].(*schema.WindowClosed)
	if closed.Totals.InboundCalls != 3 || closed.EventID == first.Events.All()[1].Head().EventID || closed.PreviousWindowKnown != w.PreviousWindowKnown {
		t.Errorf("window_closed of the revision: %+v", closed)
	}
	// The revised snapshot is what the next revision compares with.
	if _, again := snapshot.Revise(out.Snapshot, window(row("A", after))); again {
		t.Error("re-fetching the revised data made another revision")
	}
}

func TestReviseWithPseudonyms(t *testing.T) {
	hasher := schema.NewDNISHasher(secret.New("k"))
	published := snapshot.Diff(nil, withHasher(window(row("573001", calls(1, 1, 1, 1))), hasher)).Snapshot
	if _, changed := snapshot.Revise(published, withHasher(window(row("573001", calls(1, 1, 1, 1))), hasher)); changed {
		t.Error("the same data under the same key made a revision")
	}
	out, changed := snapshot.Revise(published, withHasher(window(row("573001", calls(2, 1, 1, 1))), hasher))
	if !changed || out.Events.All()[0].(*schema.DNISWindow).DNIS != hasher.Hash("573001") {
		t.Errorf("revision %q", summary(out.Events.All()))
	}
}

func TestRevisePanicsOnAnotherWindow(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Revise compared two different windows")
		}
	}()
	published := snapshot.Snapshot{WindowStart: previousStart}
	snapshot.Revise(published, window())
}
