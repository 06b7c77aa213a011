package scheduler

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/window"
)

// A save of a stream's state that another process's save came first
// (window.Conflict: two replicas that both believe they are active, or
// once, a backfill and the live service in one stream) leaves this process
// with a state that is no longer the stream's. Every command then drops
// what it fetched, loads the state again, and publishes the window in
// flight it finds there first, from its record: byte for byte what the
// other process saved (and maybe published), never this process's own
// fetch of it.

// reload loads the state of key again, as loadStates does.
func (s *Scheduler) reload(key state.Key) (state.State, error) {
	states, err := s.loadStates([]string{key.SkillID})
	if err != nil {
		return state.State{}, err
	}
	return states[0], nil
}

// logConflict says what happened and what comes next.
func logConflict(log zerolog.Logger, err error) {
	msg := "another process saved this skill's state first (another replica is active, or once or a backfill runs beside the service): what this process fetched is dropped, and it goes on from the state loaded again"
	if window.SameConflictWindow(err) {
		msg = "another process saved the record of this very window first: its record is the window's content and goes out, byte for byte, instead of what this process fetched"
	}
	log.Warn().Err(err).Msg(msg)
}

// afterConflict is what the live stream does after a Conflict: it drops
// the window it holds and takes the state loaded again; its loop then
// publishes the window in flight of that state before anything else.
func (s *Scheduler) afterConflict(ls *liveSkill, err error) error {
	logConflict(ls.log, err)
	ls.held = nil
	st, lerr := s.reload(ls.st.Key)
	if lerr != nil {
		return lerr
	}
	ls.st = st
	return nil
}

// resync is what once and a backfill do after a Conflict: load the state
// again and publish its window in flight, if any, from its record.
func (s *Scheduler) resync(ctx context.Context, log zerolog.Logger, key state.Key, err error) (state.State, error) {
	logConflict(log, err)
	st, err := s.reload(key)
	if err != nil {
		return st, err
	}
	st, r, err := s.tx.Recover(ctx, st)
	s.watchCalls()
	if err == nil && r.Published {
		logPublished(windowLog(log, r.Window, zerolog.InfoLevel), r)
	}
	return st, err
}
