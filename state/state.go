// Package state keeps, per operation and skill, what was last published, so
// that the service diffs against it and resumes after a restart. The default
// store is Dir, a directory (STATE_DIR) of small files written atomically and
// locked against a second process. The code that uses a store declares the
// small interface it needs (Load and Save), so that another store, one kept
// in Kafka for instance, can replace Dir without changing that code.
package state

import "github.com/skill6pub/skill6pub/snapshot"

// Key names one stream of windows: the live stream of a skill (Job empty) or
// a backfill job.
type Key struct {
	Operation string
	SkillID   string
	Job       string
}

// State is what is kept for one Key.
type State struct {
	Key Key
	// Windows are the last published windows, oldest first; the last one is
	// the last published window. More than one is kept only when revisions
	// are on (REVISE_WINDOWS).
	Windows []snapshot.Snapshot
}

// Last returns the last published window's snapshot.
func (s State) Last() (snapshot.Snapshot, bool) {
	if len(s.Windows) == 0 {
		return snapshot.Snapshot{}, false
	}
	return s.Windows[len(s.Windows)-1], true
}
