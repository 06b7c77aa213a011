package scheduler

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/health"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
)

// Run publishes every window of every skill as it comes due, until ctx
// ends. It first checks the daily call budget against the quota and loads
// every skill's state; either failing stops the start. Skills run side by
// side; the fetch client's token lock serializes their calls.
//
// A window that fails is retried, with backoff, until it goes out: it is
// never skipped, and later windows wait. Windows that are older than
// MAX_CATCHUP when their turn comes (after downtime, or behind a window that
// failed for that long) are logged with the backfill command that publishes
// them, counted in the catch-up gap metric, and skipped.
//
// When ctx ends, the window in flight of each skill is published and
// committed under Deps.ShutdownGrace, and Run returns nil.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.CheckQuota(); err != nil {
		return err
	}
	states, err := s.loadStates(s.cfg.SkillIDs, "")
	if err != nil {
		return err
	}
	var skills sync.WaitGroup
	for _, st := range states {
		skills.Go(func() { s.runSkill(ctx, st) })
	}
	skills.Wait()
	return nil
}

// liveSkill is the live stream of one skill while Run runs.
type liveSkill struct {
	st   state.State
	log  zerolog.Logger
	next Window // the next window to publish
	// prev is the snapshot next is diffed against: the last published window
	// when it is the one right before next, nil otherwise (then the stored
	// windows are not contiguous with next, and the commit drops them).
	prev *snapshot.Snapshot
	// pending is next, fetched and diffed but not yet committed: a retry
	// after a failed publish sends the same events again without spending
	// another call.
	pending *fetchedWindow
	// revision is a revision saved as the pending window and not yet
	// committed: it goes out before anything else, so that the one pending
	// record of the state never has to hold two windows.
	revision *pendingRevision
}

// fetchedWindow is a window fetched and diffed.
type fetchedWindow struct {
	cur snapshot.Window
	out snapshot.Output
}

// pendingRevision is a revision of the stored window at index, fetched,
// found changed and saved as the pending window.
type pendingRevision struct {
	index  int
	window Window
	fetchedWindow
}

// runSkill publishes the windows of one skill in order until ctx ends.
func (s *Scheduler) runSkill(ctx context.Context, st state.State) {
	skill := st.Key.SkillID
	ls := &liveSkill{st: st, log: s.log.With().Str("skill", skill).Logger()}
	now := s.clock.Now()
	if last, ok := st.Last(); ok {
		s.deps.Health.Started(skill, last.WindowEnd)
		ls.next = s.calendar.WindowFrom(last.WindowEnd)
		if ls.next.Start.Equal(last.WindowEnd) {
			ls.prev = &last
		} else {
			wlog := windowLogger(ls.log, ls.next)
			wlog.Warn().Time("state_window_end", last.WindowEnd).Dur("interval", s.cfg.Interval).
				Msg("the stored last window does not end on a window start of this INTERVAL (was it changed?): resuming at the next window start without a previous window to compare with")
		}
	} else {
		ls.next = s.calendar.LatestComplete(now)
		wlog := windowLogger(ls.log, ls.next)
		wlog.Info().Msg("no state for this skill: starting with the latest complete window")
	}

	s.resumeRevision(ls)

	attempt := 0
	revise := false // a new window went out since the last revision pass
	for ctx.Err() == nil {
		var err error
		var wlog zerolog.Logger
		var w Window // the window that failed
		if r := ls.revision; r != nil {
			w = r.window
			wlog = windowLogger(ls.log, r.window)
			if err = s.commitRevision(ctx, wlog, ls); err == nil {
				attempt = 0
				continue
			}
		} else {
			now := s.clock.Now()
			latest := s.calendar.LatestComplete(now)
			if attempt == 0 {
				s.skipBeyondCatchup(ls, latest)
				s.skipBackfilled(ls)
			}
			s.observeLive(skill, ls, latest)

			if due := s.calendar.Due(ls.next); now.Before(due) {
				if revise {
					revise = false
					s.reviseLive(ctx, ls)
					continue // revising took time: look at the clock again
				}
				if s.clock.Sleep(ctx, due.Sub(now)) != nil {
					return
				}
				continue
			}

			w = ls.next
			wlog = windowLogger(ls.log, ls.next)
			if err = s.publishLive(ctx, wlog, ls); err == nil {
				attempt = 0
				revise = s.cfg.ReviseWindows > 0
				continue
			}
		}
		if ctx.Err() != nil {
			wlog.Warn().Err(err).Msg("shutting down before the window in flight was committed; it is published again, with the same event ids, at the next start")
			return
		}
		attempt++
		delay := s.retryDelay(attempt, err)
		s.deps.Health.Failed(skill, w.Start, err, attempt)
		level, msg := health.Escalation(attempt, s.clock.Now().Sub(w.End), health.Limit(s.cfg.Interval, s.cfg.SettleDelay), permanent(err))
		wlog.WithLevel(level).Err(err).Int("attempt", attempt).Dur("retry_in", delay).Msg(msg)
		if s.clock.Sleep(ctx, delay) != nil {
			return
		}
	}
}

// publishLive fetches (or resumes), diffs, publishes and commits ls.next,
// then moves on to the window after it.
func (s *Scheduler) publishLive(ctx context.Context, wlog zerolog.Logger, ls *liveSkill) error {
	wctx, cancel := s.windowContext(ctx)
	defer cancel()
	w := ls.next
	if ls.pending == nil {
		cur, err := s.fetchOrResume(wctx, wlog, ls.st.Key.SkillID, w, ls.st.Pending)
		if err != nil {
			return err
		}
		// Kept when the save fails: the next attempt publishes the same.
		ls.pending = &fetchedWindow{cur: cur}
		diff := func() snapshot.Output { return snapshot.Diff(ls.prev, cur) }
		if ls.pending.out, err = s.diffWhileSaving(&ls.st, w, &ls.pending.cur, 0, diff); err != nil {
			return err
		}
	}
	kept := ls.st.Windows
	if ls.prev == nil {
		kept = nil // not contiguous with w: nothing to compare or revise against
	}
	out := ls.pending.out
	if err := s.commit(wctx, &ls.st, w, &ls.pending.cur, 0, out, appendKeeping(kept, out.Snapshot, s.cfg.ReviseWindows+1)); err != nil {
		return err
	}
	logPublished(wlog.Info(), out, ls.prev != nil)
	ls.prev = &ls.st.Windows[len(ls.st.Windows)-1]
	ls.pending = nil
	ls.next = s.calendar.Next(w)
	s.deps.Health.Published(ls.st.Key.SkillID, w.End)
	return nil
}

// skipBackfilled moves ls.next past the windows a backfill has published
// (the spans in the live state after its last window), unless ls.next is
// fetched already: published again they would carry the same event ids with
// other content. The window after them has no previous window to compare
// with.
func (s *Scheduler) skipBackfilled(ls *liveSkill) {
	if ls.pending != nil {
		return
	}
	span, ok := spanOf(ls.st.Published, ls.next)
	if !ok {
		return
	}
	wlog := windowLogger(ls.log, ls.next)
	wlog.Info().Time("backfilled_to", span.End).
		Msgf("the windows up to %s were published by a backfill: the live stream goes on after them, without a previous window to compare with",
			span.End.Format(time.RFC3339))
	ls.next = s.calendar.WindowFrom(span.End)
	ls.prev = nil
}

// skipBeyondCatchup moves ls.next forward to the oldest window within
// MAX_CATCHUP of the latest complete one, when it is older. The windows
// skipped are logged with the command that publishes them, and counted.
func (s *Scheduler) skipBeyondCatchup(ls *liveSkill, latest Window) {
	horizon := s.calendar.WindowFrom(latest.End.Add(-s.cfg.MaxCatchup))
	if horizon.Start.After(latest.Start) {
		horizon = latest // MAX_CATCHUP shorter than one window: still publish the latest
	}
	if !ls.next.Start.Before(horizon.Start) {
		return
	}
	skill := ls.st.Key.SkillID
	gap := s.calendar.Count(ls.next.Start, horizon.Start)
	wlog := windowLogger(ls.log, ls.next)
	wlog.Error().
		Time("gap_from", ls.next.Start).Time("gap_to", horizon.Start).Int("gap_windows", gap).Dur("max_catchup", s.cfg.MaxCatchup).
		Str("backfill", backfillCommand(ls.next.Start, horizon.Start, skill)).
		Msgf("%d windows are older than MAX_CATCHUP and are not caught up; publish them with: %s",
			gap, backfillCommand(ls.next.Start, horizon.Start, skill))
	if m := s.deps.Metrics; m != nil {
		m.CatchupGaps.WithLabelValues(skill).Add(float64(gap))
	}
	// The stored windows are not contiguous with the next ones any more:
	// the next commit drops them (revising them is backfill's job now).
	// They stay in the state until then, so that a stop before that commit
	// finds the gap again.
	ls.next, ls.prev, ls.pending = horizon, nil, nil
}

// observeLive updates the gauge of how many due windows wait. (Ages are
// computed when scraped, by the health tracker.)
func (s *Scheduler) observeLive(skill string, ls *liveSkill, latest Window) {
	m := s.deps.Metrics
	if m == nil {
		return
	}
	behind := 0
	if !ls.next.Start.After(latest.Start) {
		behind = s.calendar.Count(ls.next.Start, latest.End)
	}
	m.WindowsBehind.WithLabelValues(skill).Set(float64(behind))
}

// reviseLive re-fetches the published windows before the last one (at most
// REVISE_WINDOWS of them, oldest first) and publishes a revision of each one
// whose data changed. A failed fetch ends this pass, and the next tick tries
// again: the live windows do not wait for revisions. A revision that failed
// to publish stays in ls.revision and is retried before anything else.
func (s *Scheduler) reviseLive(ctx context.Context, ls *liveSkill) {
	last := len(ls.st.Windows) - 1
	for i := max(0, last-s.cfg.ReviseWindows); i < last && ctx.Err() == nil; i++ {
		w := Window{Start: ls.st.Windows[i].WindowStart, End: ls.st.Windows[i].WindowEnd}
		wlog := windowLogger(ls.log, w)
		if err := s.reviseWindow(ctx, wlog, ls, i); err != nil {
			wlog.Warn().Err(err).Msg("revision failed; it is tried again at the next tick")
			return
		}
	}
}

// reviseWindow re-fetches stored window i of ls and, when its data changed,
// publishes the revision and saves it in place of the published snapshot.
func (s *Scheduler) reviseWindow(ctx context.Context, wlog zerolog.Logger, ls *liveSkill, i int) error {
	published := ls.st.Windows[i]
	w := Window{Start: published.WindowStart, End: published.WindowEnd}
	cur, err := func() (snapshot.Window, error) {
		wctx, cancel := s.windowContext(ctx)
		defer cancel()
		return s.fetchWindow(wctx, ls.st.Key.SkillID, w)
	}()
	if err != nil {
		return err
	}
	if len(published.Rows) > 0 && len(cur.Report.Rows) == 0 && len(cur.Report.Rejected) == 0 {
		// Calls of a past window do not un-happen: an empty answer for a
		// window that had rows is a passing glitch of wolkvox, and a
		// revision built from it would mark every caller gone.
		wlog.Warn().Int("published_rows", len(published.Rows)).
			Msg("re-fetch of a published window came back empty: not publishing a revision that would remove every DNIS")
		return nil
	}
	out, changed := snapshot.Revise(published, cur)
	if !changed {
		wlog.Debug().Int("revision", published.Revision).Msg("re-fetched window is unchanged")
		return nil
	}
	ls.revision = &pendingRevision{index: i, window: w, fetchedWindow: fetchedWindow{cur: cur, out: out}}
	return s.commitRevision(ctx, wlog, ls)
}

// commitRevision publishes and commits ls.revision.
func (s *Scheduler) commitRevision(ctx context.Context, wlog zerolog.Logger, ls *liveSkill) error {
	wctx, cancel := s.windowContext(ctx)
	defer cancel()
	r := ls.revision
	windows := slices.Clone(ls.st.Windows)
	windows[r.index] = r.out.Snapshot
	if err := s.commit(wctx, &ls.st, r.window, &r.cur, r.out.Snapshot.Revision, r.out, windows); err != nil {
		return err
	}
	ls.revision = nil
	wlog.Info().Int("revision", r.out.Snapshot.Revision).Int("events", r.out.Events.Len()).Msg("published a revision: the window's data changed since it was published")
	return nil
}

// resumeRevision takes up a revision that was in flight when the last run
// stopped (the state's pending window is a revision of a stored window): it
// is published again, exactly as before, ahead of the live windows.
func (s *Scheduler) resumeRevision(ls *liveSkill) {
	p := ls.st.Pending
	if p == nil || p.Revision == 0 {
		return
	}
	w := Window{Start: p.WindowStart, End: p.WindowEnd}
	wlog := windowLogger(ls.log, w)
	i := slices.IndexFunc(ls.st.Windows, func(snap snapshot.Snapshot) bool {
		return snap.WindowStart.Equal(p.WindowStart) && snap.Revision == p.Revision-1
	})
	if i < 0 || p.DNISKeyID != s.deps.Hasher.KeyID() {
		wlog.Warn().Int("revision", p.Revision).
			Msg("the revision in flight at the last stop no longer matches the stored windows (or DNIS_HMAC_KEY changed): it is dropped; the next revision pass fetches the window again")
		return
	}
	cur := s.windowOf(ls.st.Key.SkillID, w, p.FetchedAt, p.Report)
	out, changed := snapshot.Revise(ls.st.Windows[i], cur)
	if !changed {
		return
	}
	ls.revision = &pendingRevision{index: i, window: w, fetchedWindow: fetchedWindow{cur: cur, out: out}}
	wlog.Info().Int("revision", p.Revision).
		Msg("resuming the revision in flight at the last stop: it goes out again exactly as before, ahead of the next windows")
}

// logPublished logs one published and committed window at level.
func logPublished(event *zerolog.Event, out snapshot.Output, previousKnown bool) {
	event.Int("rows", len(out.Snapshot.Rows)).Int("events", out.Events.Len()).
		Int("dead_letters", len(out.DeadLetters)).Bool("previous_window_known", previousKnown).
		Msg("window published")
}
