package kafkastore

import (
	"errors"
	"fmt"
	"time"

	"github.com/skill6pub/skill6pub/state"
)

// ErrClosed is returned by Load and Save after Close.
var ErrClosed = errors.New("kafkastore: the state store is closed")

// ConfigError names a setting that cannot work.
type ConfigError struct {
	Variable string
	Problem  string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("kafkastore: %s %s", e.Variable, e.Problem)
}

// TopicError says what is wrong with the state topic and what to do about it.
type TopicError struct {
	Topic   string
	Problem string // what is wrong, for an operator
	Fix     string // what to do
	Err     error  // the broker's error, if any
}

func (e *TopicError) Error() string {
	msg := fmt.Sprintf("kafkastore: state topic %q %s", e.Topic, e.Problem)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + ". " + e.Fix
}

func (e *TopicError) Unwrap() error { return e.Err }

// CorruptError is returned by Load when the current save of a key cannot be
// read back into a state: a chunk is missing, or the assembled state file
// fails its checks. Nothing is overwritten: the operator decides.
type CorruptError struct {
	Topic  string
	Key    state.Key
	Save   string // the save id of the manifest
	Offset int64  // the manifest's offset
	Reason string
	Err    error
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("kafkastore: the state of operation %q, skill %q in topic %q (save %s, manifest at offset %d) cannot be read: %s",
		e.Key.Operation, e.Key.SkillID, e.Topic, e.Save, e.Offset, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + ". Read the topic with a consumer to see what is there; to start that stream afresh, " +
		"write a tombstone for the manifest's key, then run \"skill6pub backfill\" for the windows missed"
}

func (e *CorruptError) Unwrap() error { return e.Err }

// WindowID names one window's write-ahead record: a window and the revision
// being published.
type WindowID struct {
	Start, End time.Time
	Revision   int
}

// pendingWindow is the WindowID of p, nil for none.
func pendingWindow(p *state.Pending) *WindowID {
	if p == nil {
		return nil
	}
	return &WindowID{Start: p.WindowStart, End: p.WindowEnd, Revision: p.Revision}
}

func (w *WindowID) equal(o *WindowID) bool {
	return w != nil && o != nil && w.Start.Equal(o.Start) && w.End.Equal(o.End) && w.Revision == o.Revision
}

// ConflictError is returned by Save when another save of the key came first
// in the topic's order: this Store's view of the key (its last Load or Save)
// was no longer current when the save reached the topic. Nothing of the
// rejected save is kept. Current is what the topic holds now.
type ConflictError struct {
	Topic string
	Key   state.Key
	// Current is the key's current state, written by Instance.
	Current  state.State
	Instance string
	// Rejected is the write-ahead record's window of the rejected save, nil
	// when it had none.
	Rejected *WindowID
}

// SameWindow reports whether the state that won holds the write-ahead
// record of the very window and revision that the rejected save held. The
// caller then publishes Current.Pending, exactly, instead of its own: the
// first write-ahead record of a window decides its content. Otherwise the
// caller backs off and loads again.
func (e *ConflictError) SameWindow() bool {
	return e.Rejected.equal(pendingWindow(e.Current.Pending))
}

func (e *ConflictError) Error() string {
	what := "the save"
	if e.Rejected != nil {
		what = fmt.Sprintf("the write-ahead record of window %s-%s (revision %d)",
			e.Rejected.Start.Format(time.RFC3339), e.Rejected.End.Format(time.RFC3339), e.Rejected.Revision)
	}
	return fmt.Sprintf("kafkastore: %s of operation %q, skill %q was not kept: instance %q saved that state first in topic %q "+
		"(another replica is publishing it, or this one lost its leadership); load the state again before going on",
		what, e.Key.Operation, e.Key.SkillID, e.Instance, e.Topic)
}
