package reliability

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
)

// synthetic builds the records of consecutive windows of skill "12" without
// Kafka, to show what the checker catches.
type synthetic struct {
	t    *testing.T
	loc  *time.Location
	prev *snapshot.Snapshot
}

func (s *synthetic) start(i int) time.Time {
	return time.Date(2026, 3, 2, 10, 0, 0, 0, s.loc).Add(time.Duration(i) * 5 * time.Minute)
}

// window returns the records of window i: a DNIS that stays, one that
// comes and goes, and rejected rows that are bad rows.
func (s *synthetic) window(i int, fetchedLate time.Duration, rejected ...fetch.RejectedRow) []consume.Record {
	start := s.start(i)
	rows := []fetch.Row{{DNIS: "3001", Metrics: schema.Metrics{InboundCalls: schema.IntOf(int64(i + 1))}}}
	if i%2 == 0 {
		rows = append(rows, fetch.Row{DNIS: "3002", Metrics: schema.Metrics{InboundCalls: schema.IntOf(1)}})
	}
	out := snapshot.Diff(s.prev, snapshot.Window{
		Operation: "0032", SkillID: "12", Start: start, End: start.Add(5 * time.Minute),
		FetchedAt: start.Add(6*time.Minute + fetchedLate), Producer: schema.Producer{Name: "skill6pub", Version: "test"},
		Report: fetch.Report{Rows: rows, Rejected: rejected},
	})
	s.prev = &out.Snapshot
	var recs []consume.Record
	for _, d := range out.DeadLetters {
		m, err := schema.EncodeDeadLetter(d)
		if err != nil {
			s.t.Fatal(err)
		}
		d := d
		recs = append(recs, consume.Record{Key: string(m.Key), Value: m.Value, DeadLetter: &d})
	}
	for _, e := range out.Events.All() {
		m, err := schema.Encode(e)
		if err != nil {
			s.t.Fatal(err)
		}
		ev, err := consume.Decode(m.Value)
		if err != nil {
			s.t.Fatal(err)
		}
		recs = append(recs, consume.Record{Key: string(m.Key), Value: m.Value, Event: ev})
	}
	return recs
}

func badRow(i int) fetch.RejectedRow {
	return fetch.RejectedRow{Index: 2, Raw: json.RawMessage(`{"dnis":"bad-` + string(rune('0'+i)) + `","inbound_calls":"-1"}`), Reason: "inbound_calls: negative"}
}

func isBadRow(d *schema.DeadLetter) bool { return strings.Contains(string(d.Raw), `"bad-`) }

// TestCheckerCatchesEveryBrokenPromise feeds the checker synthetic topics,
// one broken promise at a time. The first case is what a service that
// committed its state before publishing leaves after a crash between the
// two: a window that is never published. A checker that passes it would
// let that ordering bug through.
func TestCheckerCatchesEveryBrokenPromise(t *testing.T) {
	loc := bogota(t)
	for _, tc := range []struct {
		name   string
		topic  func(s *synthetic) [][]consume.Record // records per window, in publishing order
		wantIn string                                // a problem that must be reported; "" for none
	}{
		{"every window once", func(s *synthetic) [][]consume.Record {
			return [][]consume.Record{s.window(0, 0), s.window(1, 0, badRow(1)), s.window(2, 0), s.window(3, 0), s.window(4, 0)}
		}, ""},
		{"a window re-published identical", func(s *synthetic) [][]consume.Record {
			w2 := s.window(2, 0)
			return [][]consume.Record{s.window(0, 0), s.window(1, 0), w2, w2, s.window(3, 0), s.window(4, 0)}
		}, ""},
		{"checkpoint before publish, crash in between: window 2 lost", func(s *synthetic) [][]consume.Record {
			w := [][]consume.Record{s.window(0, 0), s.window(1, 0)}
			s.window(2, 0) // committed, never published
			return append(w, s.window(3, 0), s.window(4, 0))
		}, "window 2026-03-02T10:10:00-05:00 is missing"},
		{"a window re-fetched when re-published", func(s *synthetic) [][]consume.Record {
			w := [][]consume.Record{s.window(0, 0), s.window(1, 0)}
			s2 := *s
			first := s.window(2, 0)
			again := s2.window(2, time.Minute) // fetched again later: another fetched_at
			return append(w, first, again, s.window(3, 0), s.window(4, 0))
		}, "re-published with a different payload"},
		{"a copy re-sent after a timeout lands after a newer window", func(s *synthetic) [][]consume.Record {
			w0, w1, w2, w3, w4 := s.window(0, 0), s.window(1, 0), s.window(2, 0), s.window(3, 0), s.window(4, 0)
			return [][]consume.Record{w0, w1, w2, w3, w2, w4}
		}, ""},
		{"a window out of order", func(s *synthetic) [][]consume.Record {
			w0, w1, w2, w3, w4 := s.window(0, 0), s.window(1, 0), s.window(2, 0), s.window(3, 0), s.window(4, 0)
			return [][]consume.Record{w0, w1, w3, w2, w4}
		}, "arrived after window"},
		{"a dnis_window lost", func(s *synthetic) [][]consume.Record {
			w := [][]consume.Record{s.window(0, 0), s.window(1, 0), s.window(2, 0)[1:], s.window(3, 0), s.window(4, 0)}
			return w
		}, "incomplete"},
		{"a dead letter of a good row", func(s *synthetic) [][]consume.Record {
			good := fetch.RejectedRow{Index: 1, Raw: json.RawMessage(`{"dnis":"3003","inbound_calls":"2"}`), Reason: "wrongly refused"}
			return [][]consume.Record{s.window(0, 0), s.window(1, 0, good), s.window(2, 0), s.window(3, 0), s.window(4, 0)}
		}, "is not a bad row"},
		{"a dead letter lost", func(s *synthetic) [][]consume.Record {
			w1 := s.window(1, 0, badRow(1))
			return [][]consume.Record{s.window(0, 0), w1[1:], s.window(2, 0), s.window(3, 0), s.window(4, 0)}
		}, "1 rejected rows, 0 row dead letters arrived"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &synthetic{t: t, loc: loc}
			ledger := consume.NewLedger()
			ledger.CheckDeadLetters = true
			c := &Checker{Ledger: ledger}
			for _, w := range tc.topic(s) {
				for _, r := range w {
					ledger.Add(r)
				}
			}
			problems := c.Check(Expect{
				Skills:   []string{"12"},
				Calendar: scheduler.Calendar{Interval: 5 * time.Minute, SettleDelay: time.Minute, Location: loc},
				First:    s.start(0),
				Last:     s.start(4),
				BadRow:   isBadRow,
			})
			got := strings.Join(problems, "\n")
			switch {
			case tc.wantIn == "" && len(problems) > 0:
				t.Fatalf("problems in a good topic:\n%s", got)
			case tc.wantIn != "" && !strings.Contains(got, tc.wantIn):
				t.Fatalf("the checker missed it: want a problem with %q, got:\n%s", tc.wantIn, got)
			}
		})
	}
}

// TestCheckpointBeforePublishLosesAWindowAndTheCheckerSaysSo runs the real
// components (simulator, fetch client, state directory, producer, Kafka)
// in a deliberately wrong order — commit, then publish — and crashes
// between the two steps of the third window. Read back with franz-go, the
// topic misses that window and the checker must fail; the right order
// (publish, then commit), crashing at the same place, passes with the
// window published twice, identically.
func TestCheckpointBeforePublishLosesAWindowAndTheCheckerSaysSo(t *testing.T) {
	for _, tc := range []struct {
		name          string
		publishFirst  bool
		wantProblem   string
		wantDuplicate bool
	}{
		{"commit then publish (wrong)", false, "is missing", false},
		{"publish then commit (the service's order)", true, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 1, wolkvoxsim.Config{Seed: 3, CallersPerWindow: 8, Population: 30}, "12")
			ctx := t.Context()
			fetcher, err := fetch.New(w.cfg.Wolkvox)
			if err != nil {
				t.Fatal(err)
			}
			prod, err := producer.New(w.cfg.Kafka, producer.WithLogger(zerolog.New(w.logs)))
			if err != nil {
				t.Fatal(err)
			}
			defer prod.Close(context.Background())
			cal := w.calendar()
			first := cal.WindowAt(time.Date(2026, 3, 2, 10, 0, 0, 0, w.loc))
			key := state.Key{Operation: "0032", SkillID: "12"}

			// run publishes windows from the stored state on, dying between
			// the two steps of the window at crashAt (-1: never).
			run := func(crashAt int) {
				store, err := state.OpenDir(w.stateDir)
				if err != nil {
					t.Fatal(err)
				}
				defer store.Close()
				st, _, err := store.Load(key)
				if err != nil {
					t.Fatal(err)
				}
				st.Key = key
				next := first
				var prev *snapshot.Snapshot
				if last, ok := st.Last(); ok {
					next, prev = cal.WindowFrom(last.WindowEnd), &last
				}
				for i := cal.Count(first.Start, next.Start); i < 5; i, next = i+1, cal.Next(next) {
					var cur snapshot.Window
					if p := st.Pending; p != nil && p.WindowStart.Equal(next.Start) {
						cur = snapshot.Window{Report: p.Report, FetchedAt: p.FetchedAt}
					} else {
						report, err := fetcher.Fetch(ctx, "12", next.Start, next.End)
						if err != nil {
							t.Fatal(err)
						}
						cur = snapshot.Window{Report: report, FetchedAt: next.End.Add(time.Minute + time.Duration(crashAt+2)*time.Second)}
					}
					cur.Operation, cur.SkillID, cur.Start, cur.End = "0032", "12", next.Start, next.End
					cur.Producer = schema.Producer{Name: "skill6pub", Version: "test"}
					out := snapshot.Diff(prev, cur)
					commit := func() {
						st = state.State{Key: key, Windows: []snapshot.Snapshot{out.Snapshot}}
						if err := store.Save(st); err != nil {
							t.Fatal(err)
						}
					}
					publish := func() {
						if err := prod.Publish(ctx, out.Events, out.DeadLetters); err != nil {
							t.Fatal(err)
						}
					}
					if tc.publishFirst {
						st.Pending = &state.Pending{WindowStart: cur.Start, WindowEnd: cur.End, FetchedAt: cur.FetchedAt, Report: cur.Report}
						if err := store.Save(st); err != nil {
							t.Fatal(err)
						}
						publish()
						if i == crashAt {
							return
						}
						commit()
					} else {
						commit()
						if i == crashAt {
							return
						}
						publish()
					}
					prev = &st.Windows[0]
				}
			}
			run(2)
			run(-1)

			c := w.checker(t)
			problems := strings.Join(c.Check(Expect{Skills: []string{"12"}, Calendar: cal, First: first.Start, Last: cal.Next(cal.Next(cal.Next(cal.Next(first)))).Start}), "\n")
			if tc.wantProblem == "" && problems != "" {
				t.Fatalf("the service's order broke a promise:\n%s", problems)
			}
			if tc.wantProblem != "" && !strings.Contains(problems, tc.wantProblem) {
				t.Fatalf("commit-before-publish lost a window and the checker did not fail: %q", problems)
			}
			if dup := c.Ledger.Duplicates > 0; dup != tc.wantDuplicate {
				t.Errorf("%d duplicates", c.Ledger.Duplicates)
			}
		})
	}
}
