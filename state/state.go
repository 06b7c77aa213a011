// Package state keeps, per operation and skill, what was last published, so
// that the service diffs against it and resumes after a restart. The default
// store is Dir, a directory (STATE_DIR) of small files written atomically and
// locked against a second process. The code that uses a store declares the
// small interface it needs (Load and Save), so that another store, one kept
// in Kafka for instance, can replace Dir without changing that code.
package state

import (
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/snapshot"
)

// Key names the record of one skill of one operation: every command (run,
// once, backfill) reads and writes it.
type Key struct {
	Operation string
	SkillID   string
}

// State is what is kept for one Key.
type State struct {
	Key Key
	// Windows are the last published windows, oldest first; the last one is
	// the last published window. More than one is kept only when revisions
	// are on (REVISE_WINDOWS).
	Windows []snapshot.Snapshot
	// Pending is the window being published, saved before its publish and
	// cleared by the commit that follows it; nil when none is in flight.
	Pending *Pending
	// Published is when the windows this stream has published lie: spans
	// of time, oldest first, with no two touching (adjacent windows are one
	// span). A backfill leaves the windows of the live stream's spans
	// alone. A state saved before this field existed has none.
	Published []Span
}

// Span is the time from Start to End.
type Span struct {
	Start, End time.Time
}

// Last returns the last published window's snapshot.
func (s State) Last() (snapshot.Snapshot, bool) {
	if len(s.Windows) == 0 {
		return snapshot.Snapshot{}, false
	}
	return s.Windows[len(s.Windows)-1], true
}

// Pending is a window fetched and about to be published: a write-ahead
// record. A process that dies after the publish and before the commit finds
// it at the next start and publishes the very same events again (same ids,
// same payloads, fetched_at included) instead of fetching data that may have
// changed in the meantime.
type Pending struct {
	WindowStart time.Time
	WindowEnd   time.Time
	// Revision is 0 for a window published for the first time, or the
	// revision being published of a window already in Windows.
	Revision  int
	FetchedAt time.Time
	// Report is the response as fetched, with its DNIS already replaced by
	// their pseudonyms when DNIS_HMAC_KEY is set (snapshot.Pseudonymize), so
	// that no phone number is stored that the snapshots would not hold.
	Report fetch.Report
	// DNISKeyID identifies the key Report was pseudonymized with ("" for
	// none): a record made under another key is not replayed.
	DNISKeyID string
	// Base is the snapshot the window was compared with (a revision: the
	// revision it revises), so that the window goes out again compared with
	// the very same one. nil in a record of a build before it was kept.
	Base *Base
}

// Base names the snapshot a pending window is compared with.
type Base struct {
	// Start is the base snapshot's window start; nil when the window was
	// published without a previous window to compare with.
	Start *time.Time
	// Revision is the base snapshot's revision.
	Revision int
	// Snapshot is the base itself when the state's Windows do not hold it
	// (the previous window of a backfill's window, published by the same
	// backfill but not the stream's latest); nil otherwise.
	Snapshot *snapshot.Snapshot
}
