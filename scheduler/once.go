package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/window"
)

// NotDueError says that the window asked for is not complete yet.
type NotDueError struct {
	Window Window
	Due    time.Time
}

func (e *NotDueError) Error() string {
	return fmt.Sprintf("window %s is not complete yet: it can be fetched from %s (its end plus SETTLE_DELAY)",
		e.Window, e.Due.Format(time.RFC3339))
}

// Once publishes one window for every skill: the window that contains at, or
// the latest complete one when at is zero. It makes one attempt per skill
// (the fetch client still retries transient errors) and returns an error
// naming every skill that failed, so that a cron job can trust its exit
// status: nil means the window is published, now or before.
//
// Each skill first publishes its window in flight when the last process
// stopped (from its write-ahead record). Then, by the skill's record of
// published time (shared with run and backfill):
//   - the window, or the part of it not published yet (after a change of
//     INTERVAL), is published, compared with the skill's last window when it
//     follows it, with none otherwise (a window after a gap is logged with
//     the backfill command for the gap), and committed, so that the next
//     Once or Run continues from it;
//   - a window published already, live, by once or by a backfill, is not
//     sent again: sent again it would be another content under the same
//     event ids. Late data of published windows is what REVISE_WINDOWS is
//     for.
func (s *Scheduler) Once(ctx context.Context, at time.Time) error {
	now := s.clock.Now()
	w := s.calendar.LatestComplete(now)
	if !at.IsZero() {
		w = s.calendar.WindowAt(at)
		if due := s.calendar.Due(w); now.Before(due) {
			return &NotDueError{Window: w, Due: due}
		}
	}
	states, err := s.loadStates(s.cfg.SkillIDs)
	if err != nil {
		return err
	}
	var failed []error
	for _, st := range states {
		if err := ctx.Err(); err != nil {
			failed = append(failed, &window.Error{Skill: st.Key.SkillID, Window: w, Step: window.StepFetch, Err: err})
			continue
		}
		err := s.onceSkill(ctx, st, w)
		// A Conflict: another process published in this stream meanwhile.
		// Its window in flight goes out first, then this window, unless
		// it is published now.
		for tries := 1; window.Conflict(err) && tries < maxConflicts; tries++ {
			log := s.log.With().Str("skill", st.Key.SkillID).Logger()
			if st, err = s.resync(ctx, log, st.Key, err); err == nil {
				err = s.onceSkill(ctx, st, w)
			}
		}
		if err != nil {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// maxConflicts bounds how many times once gives way to another process in
// one stream before it gives up: the service publishing the same windows
// at the same time, again and again, is a reason to stop and say so.
const maxConflicts = 5

// onceSkill publishes w for the skill of st; see Once.
func (s *Scheduler) onceSkill(ctx context.Context, st state.State, w Window) error {
	skill := st.Key.SkillID
	log := s.log.With().Str("skill", skill).Logger()
	st, r, err := s.tx.Recover(ctx, st)
	s.watchCalls()
	if err != nil {
		return err
	}
	if r.Published {
		logPublished(windowLog(log, r.Window, zerolog.InfoLevel), r)
	}
	sent := false
	for piece := s.calendar.Unpublished(st.PublishedSpans(), w.Start); piece.Start.Before(w.End); piece = s.calendar.Unpublished(st.PublishedSpans(), piece.End) {
		piece.End = minTime(piece.End, w.End)
		wlog := window.Logger(log, piece)
		base := baseOf(st, piece)
		last, ok := st.Last()
		if ok && last.WindowEnd.Before(piece.Start) {
			gap := s.calendar.Count(last.WindowEnd, piece.Start)
			wlog.Warn().Time("gap_from", last.WindowEnd).Time("gap_to", piece.Start).Int("gap_windows", gap).
				Str("backfill", backfillCommand(last.WindowEnd, piece.Start, skill)).
				Msgf("%d windows between the last published one and this one are missing; publish them with: %s. This window is published without a previous window to compare with",
					gap, backfillCommand(last.WindowEnd, piece.Start, skill))
			if m := s.deps.Metrics; m != nil {
				m.CatchupGaps.WithLabelValues(skill).Add(float64(gap))
			}
		} else if !ok {
			wlog.Info().Msg("no state for this skill: publishing without a previous window to compare with; the state starts here")
		} else if base == nil {
			wlog.Info().Msg("publishing without a previous window to compare with (the window before it was not published, or not right before it)")
		}
		if st, r, err = s.tx.Run(ctx, st, window.Job{Window: piece, Base: base}); err != nil {
			s.watchCalls()
			return err
		}
		s.watchCalls()
		logPublished(wlog.Info(), r)
		sent = true
	}
	if !sent {
		windowLog(log, w, zerolog.InfoLevel).
			Msg("this window was already published (live, by once or by a backfill): nothing is sent (sent again it would carry the same event ids with other content; late data of published windows is what REVISE_WINDOWS is for)")
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
