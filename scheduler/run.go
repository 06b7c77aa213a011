package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/health"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/window"
)

// Run publishes every window of every skill as it comes due, until ctx
// ends. It first checks the daily call budget against the quota and loads
// every skill's state; either failing stops the start. Skills run side by
// side; the fetch client's token lock serializes their calls.
//
// Each skill first publishes the window in flight when the last process
// stopped, from its write-ahead record, whatever came since. Then it goes
// on from the end of its last published window, past windows that once or
// a backfill published already; after a change of INTERVAL, the stretch up
// to the new grid goes out as a window of its own.
//
// A window that fails is retried, with backoff, until it goes out: it is
// never skipped, and later windows wait. Windows that are older than
// MAX_CATCHUP when their turn comes (after downtime, or behind a fetch that
// failed for that long) are logged with the backfill command that publishes
// them, counted in the catch-up gap metric, and skipped; a window already
// written ahead is never skipped.
//
// When ctx ends, the window in flight of each skill is published and
// committed under Deps.ShutdownGrace, and Run returns nil. When a skill's
// state store is lost (its directory removed under it), every skill stops
// and Run returns that error: another process may be publishing from it.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.CheckQuota(); err != nil {
		return err
	}
	states, err := s.loadStates(s.cfg.SkillIDs)
	if err != nil {
		return err
	}
	// Problems are those of this run: a replica that stands down (Run
	// returns without a fatal error) and is elected again later starts
	// without the old ones.
	s.clearProblems()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var (
		skills sync.WaitGroup
		mu     sync.Mutex
		fatal  []error
	)
	for _, st := range states {
		skills.Go(func() {
			if err := s.runSkill(ctx, st); err != nil {
				mu.Lock()
				fatal = append(fatal, err)
				mu.Unlock()
				stop(err)
			}
		})
	}
	skills.Wait()
	if len(fatal) == 0 {
		s.clearProblems()
	}
	return errors.Join(fatal...)
}

// liveSkill is the live stream of one skill while Run runs.
type liveSkill struct {
	st  state.State
	log zerolog.Logger
	// cursor is where the live stream goes on: the end of the last window
	// it published, or where a gap beyond MAX_CATCHUP made it resume.
	cursor time.Time
	// skippedTo is the end of the last stretch of published windows the
	// stream stepped over, so that it is said once.
	skippedTo time.Time
	// held is the next window, fetched, whose commit failed: the next
	// attempt commits it again rather than spend another call.
	held *window.Prepared
}

// runSkill publishes the windows of one skill in order until ctx ends. It
// returns an error only when the skill must stop publishing for good.
func (s *Scheduler) runSkill(ctx context.Context, st state.State) error {
	skill := st.Key.SkillID
	ls := &liveSkill{st: st, log: s.log.With().Str("skill", skill).Logger()}
	now := s.clock.Now()
	if last, ok := st.Last(); ok {
		ls.cursor = last.WindowEnd
		s.deps.Health.Started(skill, last.WindowEnd)
		if !s.calendar.WindowFrom(last.WindowEnd).Start.Equal(last.WindowEnd) {
			ls.log.Warn().Time("state_window_end", last.WindowEnd).Dur("interval", s.cfg.Interval).
				Msg("the last published window does not end on a window start of this INTERVAL (was it changed?): the stretch up to the next window start goes out as a window of its own, compared with the last one")
		}
	} else {
		ls.cursor = s.calendar.LatestComplete(now).Start
		ls.log.Info().Time("window_start", ls.cursor).Msg("no state for this skill: starting with the latest complete window")
	}

	attempt := 0
	revise := false // a new window went out since the last revision pass
	for ctx.Err() == nil {
		now := s.clock.Now()
		latest := s.calendar.LatestComplete(now)
		var err error
		var w Window
		switch {
		case ls.held != nil:
			w = ls.held.Window()
			if err = s.publishLive(ctx, ls, w); err == nil {
				attempt = 0
				revise = s.cfg.ReviseWindows > 0
				continue
			}
		case ls.st.Pending != nil:
			// The window in flight at the last stop, or one whose publish
			// failed: it goes out from its write-ahead record before
			// anything else, gap or not.
			var r window.Result
			w = Window{Start: ls.st.Pending.WindowStart, End: ls.st.Pending.WindowEnd}
			if ls.st, r, err = s.tx.Recover(ctx, ls.st); err == nil {
				s.published(ls, r)
				attempt = 0
				continue
			}
		case s.newerThanTheClock(ls, latest):
			if s.clock.Sleep(ctx, s.cfg.Interval) != nil {
				return nil
			}
			continue
		default:
			w = s.nextLive(ls, latest)
			s.observeLive(skill, w, latest)
			if due := s.calendar.Due(w); now.Before(due) {
				if revise {
					revise = false
					err := s.reviseLive(ctx, ls)
					if window.Conflict(err) {
						err = errors.Join(err, s.afterConflict(ls, err))
					}
					if window.Fatal(err) {
						return s.stopSkill(ls, err)
					}
					continue // revising took time: look at the clock again
				}
				if s.clock.Sleep(ctx, due.Sub(now)) != nil {
					return nil
				}
				continue
			}
			if err = s.publishLive(ctx, ls, w); err == nil {
				attempt = 0
				revise = s.cfg.ReviseWindows > 0
				continue
			}
		}
		s.watchCalls()
		wlog := window.Logger(ls.log, w)
		if window.Conflict(err) {
			err = errors.Join(err, s.afterConflict(ls, err))
		}
		if window.Fatal(err) {
			return s.stopSkill(ls, err)
		}
		if ctx.Err() != nil {
			wlog.Warn().Err(err).Msg("shutting down before the window in flight was committed; it is published again, with the same event ids, at the next start")
			return nil
		}
		attempt++
		delay := window.RetryDelay(attempt, err, s.cfg.Interval)
		s.deps.Health.Failed(skill, w.Start, err, attempt)
		level, msg := health.Escalation(attempt, s.clock.Now().Sub(w.End), health.Limit(s.cfg.Interval, s.cfg.SettleDelay), window.Permanent(err))
		wlog.WithLevel(level).Err(err).Int("attempt", attempt).Dur("retry_in", delay).Msg(msg)
		if s.clock.Sleep(ctx, delay) != nil {
			return nil
		}
	}
	return nil
}

// publishLive fetches w, the next window of the live stream (or takes it
// as fetched by an attempt whose commit failed), and commits it.
func (s *Scheduler) publishLive(ctx context.Context, ls *liveSkill, w Window) error {
	if ls.held == nil {
		// The fetch of the window in flight at shutdown gets the grace its
		// commit gets.
		fctx, cancel := s.tx.GraceContext(ctx)
		p, err := s.tx.Prepare(fctx, ls.st, window.Job{Window: w, Base: baseOf(ls.st, w)})
		cancel()
		if err != nil {
			return err
		}
		ls.held = p
	}
	var err error
	if ls.st, err = s.tx.Commit(ctx, ls.st, ls.held); err != nil {
		return err
	}
	s.published(ls, ls.held.Result())
	ls.held = nil
	return nil
}

// published records a window that the live stream published: it moves the
// cursor past a first publication that follows it.
func (s *Scheduler) published(ls *liveSkill, r window.Result) {
	s.watchCalls()
	if !r.Published {
		return
	}
	logPublished(windowLog(ls.log, r.Window, zerolog.InfoLevel), r)
	if r.Revision == 0 && !r.Window.End.Before(ls.cursor) {
		ls.cursor = r.Window.End
		s.deps.Health.Published(ls.st.Key.SkillID, r.Window.End)
	}
}

// stopSkill logs why the skill stops publishing for good and returns it.
func (s *Scheduler) stopSkill(ls *liveSkill, err error) error {
	s.setProblem(ls.st.Key.SkillID, err.Error())
	ls.log.Error().Err(err).Msg("this process stops publishing")
	return fmt.Errorf("skill %s: %w", ls.st.Key.SkillID, err)
}

// newerThanTheClock reports, and says once in an error log and in
// Problems, that the stream's last published window ends after the latest
// complete window: the clock moved back, or the state was copied from
// elsewhere. Publishing then waits for the clock to pass it.
func (s *Scheduler) newerThanTheClock(ls *liveSkill, latest Window) bool {
	skill := ls.st.Key.SkillID
	last, ok := ls.st.Last()
	if !ok || !last.WindowEnd.After(latest.End) {
		if _, had := s.Problems()[skill]; had {
			s.setProblem(skill, "")
			ls.log.Info().Msg("the clock has passed the last published window again: publishing goes on")
		}
		return false
	}
	if _, had := s.Problems()[skill]; !had {
		problem := fmt.Sprintf("the state's last published window ends at %s, after the latest complete window (%s): the clock moved back, or the state comes from another installation",
			last.WindowEnd.Format(time.RFC3339), latest.End.Format(time.RFC3339))
		s.setProblem(skill, problem)
		ls.log.Error().Time("state_window_end", last.WindowEnd).Time("latest_complete_end", latest.End).
			Msg(problem + ". Nothing is published until the clock passes it. Fix the clock (NTP), or, if the state is not this installation's, stop the service and move the state aside")
	}
	return true
}

// nextLive returns the next window of the live stream: the first window at
// or after its cursor that is not published yet. Windows beyond
// MAX_CATCHUP of latest move the cursor forward to the oldest one within
// it; the windows skipped are logged with the command that publishes them,
// and counted.
func (s *Scheduler) nextLive(ls *liveSkill, latest Window) Window {
	spans := ls.st.PublishedSpans()
	w := s.calendar.Unpublished(spans, ls.cursor)
	if w.Start.After(ls.cursor) && !w.Start.Equal(ls.skippedTo) {
		ls.skippedTo = w.Start
		windowLog(ls.log, w, zerolog.InfoLevel).Time("published_from", ls.cursor).
			Msgf("the windows up to %s were published already (by once or a backfill): the live stream goes on after them",
				w.Start.Format(time.RFC3339))
	}
	horizon := s.calendar.WindowFrom(latest.End.Add(-s.cfg.MaxCatchup))
	if horizon.Start.After(latest.Start) {
		horizon = latest // MAX_CATCHUP shorter than one window: still publish the latest
	}
	if !w.Start.Before(horizon.Start) {
		return w
	}
	skill := ls.st.Key.SkillID
	gap := s.calendar.Count(w.Start, horizon.Start)
	windowLog(ls.log, w, zerolog.ErrorLevel).
		Time("gap_from", w.Start).Time("gap_to", horizon.Start).Int("gap_windows", gap).Dur("max_catchup", s.cfg.MaxCatchup).
		Str("backfill", backfillCommand(w.Start, horizon.Start, skill)).
		Msgf("%d windows are older than MAX_CATCHUP and are not caught up; publish them with: %s",
			gap, backfillCommand(w.Start, horizon.Start, skill))
	if m := s.deps.Metrics; m != nil {
		m.CatchupGaps.WithLabelValues(skill).Add(float64(gap))
	}
	ls.cursor = horizon.Start
	return s.calendar.Unpublished(spans, ls.cursor)
}

// observeLive updates the gauge of how many due windows wait. (Ages are
// computed when scraped, by the health tracker.)
func (s *Scheduler) observeLive(skill string, next, latest Window) {
	m := s.deps.Metrics
	if m == nil {
		return
	}
	behind := 0
	if !next.Start.After(latest.Start) {
		behind = s.calendar.Count(next.Start, latest.End)
	}
	m.WindowsBehind.WithLabelValues(skill).Set(float64(behind))
}

// reviseLive re-fetches the published windows before the last one (at most
// REVISE_WINDOWS of them, oldest first) and publishes a revision of each one
// whose data changed. A failure ends this pass, and the next tick tries
// again: the live windows do not wait for revisions. A revision whose
// publish failed stays as the write-ahead record and goes out before
// anything else. It returns the error that ended the pass.
func (s *Scheduler) reviseLive(ctx context.Context, ls *liveSkill) error {
	last := len(ls.st.Windows) - 1
	for i := max(0, last-s.cfg.ReviseWindows); i < last && ctx.Err() == nil; i++ {
		published := ls.st.Windows[i]
		w := Window{Start: published.WindowStart, End: published.WindowEnd}
		wlog := window.Logger(ls.log, w)
		var r window.Result
		var err error
		ls.st, r, err = s.tx.Run(ctx, ls.st, window.Job{Window: w, Revision: published.Revision + 1, Base: &published})
		s.watchCalls()
		if err != nil {
			wlog.Warn().Err(err).Msg("revision failed; it is tried again at the next tick")
			return err
		}
		if r.Published {
			wlog.Info().Int("revision", r.Revision).Int("events", r.Events).Bool("next_window_revised", r.Followed).
				Msg("published a revision: the window's data changed since it was published")
		} else {
			wlog.Debug().Int("revision", published.Revision).Msg("re-fetched window is unchanged")
		}
	}
	return nil
}
