package snapshot_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/snapshot"
)

// sliceOutputs returns outputs with every kind of event: a diff (new,
// changed, unchanged, gone, rows merged from several response rows), the
// same with pseudonyms, a first window, and a revision.
func sliceOutputs(t *testing.T) map[string]snapshot.Output {
	t.Helper()
	outs := map[string]snapshot.Output{}
	for name, h := range map[string]*schema.DNISHasher{"plain": nil, "hmac": schema.NewDNISHasher(secret.New("k"))} {
		prev, cur := bigWindows(300, h)
		// The same callers twice in the response: merged rows.
		cur.Report.Rows = append(cur.Report.Rows, cur.Report.Rows[:5]...)
		diff := snapshot.Diff(prev, cur)
		outs["diff "+name] = diff
		outs["first "+name] = snapshot.Diff(nil, cur)

		refetch := cur
		refetch.Report.Rows = append([]fetch.Row(nil), cur.Report.Rows[20:]...)
		for i := 0; i < 60; i += 3 {
			refetch.Report.Rows[i].Metrics.InboundCalls.Int += 7
		}
		refetch.Report.Rows = append(refetch.Report.Rows, row("999", calls(1, 1, 1, 1)))
		revision, changed := snapshot.Revise(diff.Snapshot, refetch)
		if !changed {
			t.Fatal("the re-fetch is not a revision")
		}
		outs["revision "+name] = revision
	}
	return outs
}

// TestEventsSliceIsAll checks that the events come out the same however a
// publisher cuts them into chunks.
func TestEventsSliceIsAll(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for name, out := range sliceOutputs(t) {
		t.Run(name, func(t *testing.T) {
			all := out.Events.All()
			n := out.Events.Len()
			if len(all) != n {
				t.Fatalf("All has %d events, Len says %d", len(all), n)
			}
			if _, ok := all[n-1].(*schema.WindowClosed); !ok {
				t.Fatalf("last event is %T, not the window_closed", all[n-1])
			}
			var splits [][]int
			for size := 1; size <= 7; size++ {
				var cuts []int
				for at := 0; at < n; at += size {
					cuts = append(cuts, at)
				}
				splits = append(splits, append(cuts, n))
			}
			random := []int{0}
			for at := 0; at < n; {
				at = min(n, at+r.IntN(50)) // empty ranges included
				random = append(random, at)
			}
			splits = append(splits, random)
			for _, cuts := range splits {
				var joined []schema.Event
				for k := 1; k < len(cuts); k++ {
					chunk := out.Events.Slice(cuts[k-1], cuts[k])
					if len(chunk) != cuts[k]-cuts[k-1] {
						t.Fatalf("Slice(%d, %d) has %d events", cuts[k-1], cuts[k], len(chunk))
					}
					joined = append(joined, chunk...)
				}
				if !reflect.DeepEqual(joined, all) {
					t.Fatalf("the chunks at %v are not All()", cuts[:min(len(cuts), 10)])
				}
			}
		})
	}
}

// TestEventsSliceBuildsAnew checks that each call gives equal events of its
// own, so a publisher may drop or keep a chunk without touching another,
// and that Previous points into the rows the window was compared with.
func TestEventsSliceBuildsAnew(t *testing.T) {
	prev, cur := bigWindows(300, nil)
	out := snapshot.Diff(prev, cur)
	n := out.Events.Len()
	first, second := out.Events.Slice(0, n), out.Events.Slice(0, n)
	if !reflect.DeepEqual(first, second) {
		t.Fatal("two calls for the same range differ")
	}
	previous := map[string]*schema.Metrics{}
	for i := range prev.Rows {
		previous[prev.Rows[i].DNIS] = &prev.Rows[i].Metrics
	}
	withPrevious := 0
	for k := range first {
		if first[k] == second[k] {
			t.Fatalf("event %d is the same value in both calls", k)
		}
		switch e := first[k].(type) {
		case *schema.DNISWindow:
			if e.Previous != nil {
				withPrevious++
				if e.Previous != previous[e.DNIS] {
					t.Fatalf("the previous metrics of %s are not the previous snapshot's row", e.DNIS)
				}
				e.Delta.InboundCalls.Int += 1000
			}
			e.Metrics.InboundCalls.Int += 1000
		case *schema.WindowClosed:
			e.Totals.InboundCalls += 1000
		}
	}
	if withPrevious == 0 {
		t.Fatal("no dnis_window with previous metrics to check")
	}
	if !reflect.DeepEqual(second, out.Events.All()) {
		t.Error("changing the events of one call changed those of another")
	}
}

func TestEventsZeroAndOutOfRange(t *testing.T) {
	var none snapshot.Events
	if none.Len() != 0 || len(none.All()) != 0 {
		t.Errorf("the zero Events has %d events", none.Len())
	}
	out := snapshot.Diff(nil, window(row("A", calls(1, 1, 100, 2))))
	defer func() {
		if recover() == nil {
			t.Error("Slice past the end did not panic")
		}
	}()
	out.Events.Slice(1, out.Events.Len()+1)
}
