package snapshot

import (
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
)

// Follow returns what a revision of a window W means for the window
// published after it, next, when next was compared with W (its
// PreviousWindowStart is W's start): before is W as next was compared with
// it, revised is W's snapshot after the revision (Revise's
// Output.Snapshot).
//
// A DNIS that the revision added to W and that next lacks never got a
// dnis_gone: next was compared with W before it had the DNIS. A consumer
// that keeps each key's newest window and deletes on dnis_gone would keep
// it for ever. Follow gives next a revision of its own, next.Revision+1,
// with a dnis_gone for each such DNIS (previous: its metrics in the revised
// W) and a window_closed that repeats next's figures with those counts;
// the output's snapshot is next with that revision, its rows unchanged.
// Nothing else of next is revised: its change, delta and repeat callers
// stay those of its comparison with W as published then (the README says
// so). It reports false, with no events, when there is nothing to send:
// next was not compared with W, W's DNIS key changed, or no DNIS is
// concerned.
//
// meta is the Window that Revise revised W from: the events take its
// operation, skill, producer, DNIS hasher and time zone, and its
// fetched_at (the fetch the dnis_gone come from).
func Follow(before, revised, next Snapshot, meta Window) (Output, bool) {
	if next.PreviousWindowStart == nil || !next.PreviousWindowStart.Equal(revised.WindowStart) ||
		!before.WindowStart.Equal(revised.WindowStart) ||
		revised.DNISKeyID != meta.Hasher.KeyID() || next.DNISKeyID != revised.DNISKeyID || before.DNISKeyID != revised.DNISKeyID {
		return Output{Snapshot: next}, false
	}
	// The DNIS of revised that are neither in before (next sent a
	// dnis_gone for those it lacks) nor in next.
	beforeRows, nextRows := canonicalRows(before.Rows), canonicalRows(next.Rows)
	revisedRows := canonicalRows(revised.Rows)
	var added []fetch.Row
	join(revisedRows, len(beforeRows), func(j int) string { return beforeRows[j].DNIS }, func(i, j int) {
		if j < 0 {
			added = append(added, revisedRows[i])
		}
	}, func(int) {})
	var gone []fetch.Row
	join(added, len(nextRows), func(j int) string { return nextRows[j].DNIS }, func(i, j int) {
		if j < 0 {
			gone = append(gone, added[i])
		}
	}, func(int) {})
	if len(gone) == 0 {
		return Output{Snapshot: next}, false
	}

	cur := meta
	zone := meta.Start.Location()
	cur.Start, cur.End, cur.Report = next.WindowStart.In(zone), next.WindowEnd.In(zone), fetch.Report{}
	b := newBuild(cur, next.Revision+1, next.PreviousWindowStart)
	b.prepared = prepared{rows: nextRows}
	events, _ := b.dnisEvents(gone, true, 0, func(*schema.Metrics, *schema.Metrics) (change, bool) { return 0, false })
	closed := b.windowClosed(0, len(events.gone), len(next.Repeaters))
	closed.MergedRows, closed.RejectedRows = next.MergedRows, next.RejectedRows
	closed.MaybeTruncated, closed.NoData = next.MaybeTruncated, next.NoData
	events.closed = closed

	snap := next
	snap.Revision = next.Revision + 1
	return Output{Events: events, Snapshot: snap}, true
}
