package window

import (
	"errors"
	"fmt"

	"github.com/skill6pub/skill6pub/state"
)

// conflict is the error of a store whose saves are conditional
// (state/kafkastore's *ConflictError): another process's save of the
// stream's state came first in the store's order, and this one was not
// kept. SameWindow reports whether the state that won holds the
// write-ahead record of the very window and revision this one held.
type conflict interface {
	error
	SameWindow() bool
}

// Conflict reports whether err says that another process saved the
// stream's state first: two processes believe they publish the stream (a
// replica frozen past its session that woke up, a network split), or
// once, a backfill and the live service ran into the same window. The
// first write-ahead record of a window decides its content, so a window
// whose record lost is never published from this process's own fetch: the
// transaction stops before the publish and returns the error. The caller
// drops what it fetched, loads the state again (Store.Load) and goes on
// from it; the window in flight it then finds (the other process's, when
// it was the same window: SameConflictWindow) goes out through Recover,
// byte for byte as the other process saved it.
func Conflict(err error) bool {
	var c conflict
	return errors.As(err, &c)
}

// SameConflictWindow reports whether err is a Conflict in which the state
// that won holds the write-ahead record of the same window and revision:
// its content, not this process's fetch, is the window's.
func SameConflictWindow(err error) bool {
	var c conflict
	return errors.As(err, &c) && c.SameWindow()
}

// SupersededError says that the state holds another write-ahead record of
// the window being committed: another process (or an earlier attempt of
// this one, before it loaded the state again) fetched the window too, and
// saved it first. That record is the window's content, and goes out
// through Recover; this fetch is dropped. It is a Conflict in the same
// window.
type SupersededError struct {
	Window   Window
	Revision int
}

func (e *SupersededError) Error() string {
	return fmt.Sprintf("the state holds another write-ahead record of window %s (revision %d), saved first: that record is the window's content and goes out instead of this fetch",
		e.Window, e.Revision)
}

// SameWindow is true: the record that came first is this window's.
func (e *SupersededError) SameWindow() bool { return true }

// superseded returns a *SupersededError when st holds a write-ahead record
// of p's window and revision other than the one p was resumed from (made
// under the same DNIS_HMAC_KEY: a record made under another key is
// fetched again, on purpose, by Prepare).
func superseded(st state.State, p *Prepared) error {
	pending := st.Pending
	if !pendingIs(pending, p.job) || pending.FetchedAt.Equal(p.cur.FetchedAt) || pending.DNISKeyID != p.cur.Hasher.KeyID() {
		return nil
	}
	return &SupersededError{Window: p.job.Window, Revision: p.job.Revision}
}
