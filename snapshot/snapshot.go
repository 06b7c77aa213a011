// Package snapshot turns one fetched window into events by comparing it with
// the snapshot of the window before it (or, for a revision, with what was
// published for the same window). Diff and Revise are pure functions.
package snapshot

import (
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
)

// Snapshot is what was published for one window of one skill: its rows with
// the DNIS as published (already pseudonymized when a key is set), sorted by
// DNIS. The next window is diffed against it.
type Snapshot struct {
	WindowStart time.Time   `json:"window_start"`
	WindowEnd   time.Time   `json:"window_end"`
	Revision    int         `json:"revision"`
	Rows        []fetch.Row `json:"rows"`
}

// Window is one freshly fetched window with what the events need around it.
type Window struct {
	Operation string
	SkillID   string
	Start     time.Time
	End       time.Time
	FetchedAt time.Time
	Producer  schema.Producer
	Report    fetch.Report
}

// Output is what a window produces: its events in publishing order, its dead
// letters, and the snapshot to keep once they are acknowledged.
type Output struct {
	Events      []schema.Event
	DeadLetters []schema.DeadLetter
	Snapshot    Snapshot
}
