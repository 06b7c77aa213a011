// Package snapshot turns one fetched window into events by comparing it with
// the snapshot of the window before it (or, for a revision, with what was
// published for the same window). Diff and Revise are pure functions: the
// same inputs give the same events, in the same order, with the same ids.
package snapshot

import (
	"slices"
	"strings"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
)

// Snapshot is what was published for one window of one skill: its rows with
// the DNIS as published (already pseudonymized when a key is set), sorted by
// DNIS, one row per DNIS. The next window is diffed against it, and a
// revision of the same window against it.
type Snapshot struct {
	WindowStart time.Time   `json:"window_start"`
	WindowEnd   time.Time   `json:"window_end"`
	Revision    int         `json:"revision"`
	Rows        []fetch.Row `json:"rows"`
	// PreviousWindowStart is the start of the window this one was compared
	// with, nil when none was known. A revision repeats it.
	PreviousWindowStart *time.Time `json:"previous_window_start,omitempty"`
	// Repeaters are the DNIS of Rows that were also in that previous window,
	// sorted: a revision cannot look at the previous window any more and
	// counts its repeat callers from them.
	Repeaters []string `json:"repeaters,omitempty"`
	// RejectedRows is the number of rejected rows of the window as last
	// fetched: a re-fetch with another number is a revision.
	RejectedRows int `json:"rejected_rows,omitempty"`
	// RejectedIDs are the ids of the row dead letters published for the
	// window, by any of its revisions, sorted: a revision sends only the
	// dead letters of rows not among them, so that a bad row is one dead
	// letter however many re-fetches return it. A snapshot written before
	// it existed has none, and its next revision sends its dead letters
	// again (under ids that no longer depend on the revision).
	RejectedIDs []string `json:"rejected_ids,omitempty"`
	// MergedRows, MaybeTruncated and NoData are those of the window's last
	// window_closed, repeated when a revision of the window before it makes
	// this window publish a revision of its own (see Follow).
	MergedRows     int  `json:"merged_rows,omitempty"`
	MaybeTruncated bool `json:"maybe_truncated,omitempty"`
	NoData         bool `json:"no_data,omitempty"`
	// DNISKeyID identifies the DNIS_HMAC_KEY the rows were pseudonymized
	// with ("" for none, see schema.DNISHasher.KeyID). DNIS are only
	// compared between snapshots with the same key.
	DNISKeyID string `json:"dnis_key_id,omitempty"`
}

// Window is one freshly fetched window with what the events need around it.
type Window struct {
	Operation string
	SkillID   string
	// Start and End bound the window [Start, End) in the operation's time
	// zone; the events' times carry Start's location.
	Start     time.Time
	End       time.Time
	FetchedAt time.Time
	Producer  schema.Producer
	Report    fetch.Report
	// Hasher pseudonymizes every DNIS (the value, the key, the id input and
	// the "dnis" member of rejected rows); nil publishes them as received.
	Hasher *schema.DNISHasher
	// Pseudonymized says that Report already went through
	// Pseudonymize(Report, Hasher): its DNIS are not hashed again. The
	// scheduler pseudonymizes a report once, before it keeps it on disk as
	// the window being published.
	Pseudonymized bool
}

// Pseudonymize returns r with every DNIS replaced by h's pseudonym, as the
// events will carry it, and every rejected row as its dead letter will
// carry it; r itself is not modified. With a nil h it returns r. Diff and
// Revise of a Window whose Report is Pseudonymize(r, h), marked
// Pseudonymized, give exactly the output they give for r.
func Pseudonymize(r fetch.Report, h *schema.DNISHasher) fetch.Report {
	if !h.Enabled() {
		return r
	}
	out := r
	out.Rows = make([]fetch.Row, len(r.Rows))
	pseudonyms := pseudonymize(h, r.Rows)
	for i, row := range r.Rows {
		out.Rows[i] = fetch.Row{DNIS: pseudonymAt(pseudonyms, i), Metrics: row.Metrics}
	}
	out.Rejected = make([]fetch.RejectedRow, len(r.Rejected))
	for i, rej := range r.Rejected {
		out.Rejected[i] = pseudonymizeRejected(h, rej)
	}
	return out
}

// Output is what a window produces: its events in publishing order (the
// dnis_window events sorted by DNIS, then the dnis_gone events sorted by
// DNIS, then the window_closed), built a range at a time by Events.Slice;
// its dead letters; and the snapshot to keep once they are acknowledged.
// The events are made from the rows of that snapshot and of the one they
// were compared with (their Previous metrics point into it): treat both as
// read-only.
type Output struct {
	Events      Events
	DeadLetters []schema.DeadLetter
	Snapshot    Snapshot
}

// Diff compares the window cur with the snapshot of the last published
// window, prev, and returns revision 0 of cur: one dnis_window per DNIS
// (new, changed or unchanged), one dnis_gone per DNIS of prev missing from
// cur, one window_closed.
//
// prev is nil for the first window after a fresh start. The previous window
// is then unknown rather than empty: every row is new, previous_window_known
// is false, and nothing is gone. The same holds when prev was pseudonymized
// with another DNIS_HMAC_KEY (or none): pseudonyms of two keys cannot be
// compared, and the old ones must not be published under the new key's flag.
func Diff(prev *Snapshot, cur Window) Output {
	var base []fetch.Row
	var previousStart *time.Time
	if prev != nil && prev.DNISKeyID == cur.Hasher.KeyID() {
		base = canonicalRows(prev.Rows)
		previousStart = &prev.WindowStart
	}
	b := newBuild(cur, 0, previousStart)
	events, matched := b.dnisEvents(base, previousStart != nil, len(b.prepared.rows), func(cur, prev *schema.Metrics) (change, bool) {
		switch {
		case prev == nil:
			return changeNew, true
		case *cur == *prev:
			return changeUnchanged, true
		}
		return changeChanged, true
	})
	events.closed = b.windowClosed(len(events.windows), len(events.gone), len(matched))
	return Output{
		Events:      events,
		DeadLetters: b.prepared.dead,
		Snapshot:    b.snapshot(matched),
	}
}

// Revise compares a re-fetch of an already published window, cur, with
// what was published for it and reports whether anything changed. When it
// did, the output is revision published.Revision+1: a revised dnis_window
// for each DNIS whose metrics differ (previous = as published), a new one
// for each DNIS that appeared, a dnis_gone for each that vanished, then a
// window_closed over the whole re-fetched window, and the dead letters of
// the re-fetch. A different number of rejected rows is also a change. When
// nothing changed there are no events and the snapshot is published.
//
// A revision cannot see the window before: its repeat callers are those
// of published.Repeaters still present. If published was pseudonymized
// with another key, every row is republished as new under the current one.
//
// cur must be the same window as published; anything else is a bug of the
// caller and panics rather than publish wrong revisions.
func Revise(published Snapshot, cur Window) (Output, bool) {
	if !published.WindowStart.Equal(cur.Start) {
		panic("snapshot: Revise of the window at " + cur.Start.Format(time.RFC3339) +
			" with the snapshot of the window at " + published.WindowStart.Format(time.RFC3339))
	}
	sameKey := published.DNISKeyID == cur.Hasher.KeyID()
	var base []fetch.Row
	var repeatersBefore []string
	previousStart := published.PreviousWindowStart
	if sameKey {
		base = canonicalRows(published.Rows)
		repeatersBefore = canonicalStrings(published.Repeaters)
	} else {
		previousStart = nil
	}
	b := newBuild(cur, published.Revision+1, previousStart)
	// previous_window_known says, in every revision, what it said in
	// revision 0: whether the window before was known when this one was
	// first compared with it (its window_closed says the same).
	events, _ := b.dnisEvents(base, previousStart != nil, 0, func(cur, prev *schema.Metrics) (change, bool) {
		switch {
		case prev == nil:
			return changeNew, true
		case *cur == *prev:
			return 0, false
		}
		return changeRevised, true
	})
	dead := unpublishedDeadLetters(b.prepared.dead, published.RejectedIDs)
	if sameKey && events.Len() == 0 && len(dead) == 0 && len(b.prepared.dead) == published.RejectedRows {
		return Output{Snapshot: published}, false
	}
	rows := b.prepared.rows
	var repeaters []string
	join(rows, len(repeatersBefore), func(j int) string { return repeatersBefore[j] }, func(i, j int) {
		if j >= 0 {
			repeaters = append(repeaters, rows[i].DNIS)
		}
	}, func(int) {})

	events.closed = b.windowClosed(len(events.windows), len(events.gone), len(repeaters))
	snap := b.snapshot(repeaters)
	snap.RejectedIDs = mergeSorted(published.RejectedIDs, snap.RejectedIDs)
	return Output{
		Events:      events,
		DeadLetters: dead,
		Snapshot:    snap,
	}, true
}

// unpublishedDeadLetters returns the dead letters whose ids are not among
// published (sorted).
func unpublishedDeadLetters(dead []schema.DeadLetter, published []string) []schema.DeadLetter {
	published = canonicalStrings(published)
	var out []schema.DeadLetter
	for _, d := range dead {
		if _, found := slices.BinarySearch(published, d.DeadLetterID); !found {
			out = append(out, d)
		}
	}
	return out
}

// mergeSorted returns the union of a and b, sorted without duplicates.
func mergeSorted(a, b []string) []string {
	if len(a) == 0 {
		return b
	}
	return slices.Compact(slices.Sorted(slices.Values(slices.Concat(a, b))))
}

// join walks rows (sorted by DNIS, unique) and n other keys (sorted,
// unique, keyOf(j) the j-th) in key order: inRows(i, j) for each row, with j
// the index of the same key or -1, and onlyOther(j) for each key that no row
// has.
func join(rows []fetch.Row, n int, keyOf func(j int) string, inRows func(i, j int), onlyOther func(j int)) {
	j := 0
	for i := range rows {
		c := -1
		for ; j < n; j++ {
			if c = strings.Compare(keyOf(j), rows[i].DNIS); c >= 0 {
				break
			}
			onlyOther(j)
		}
		if c == 0 {
			inRows(i, j)
			j++
		} else {
			inRows(i, -1)
		}
	}
	for ; j < n; j++ {
		onlyOther(j)
	}
}
