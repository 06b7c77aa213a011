package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
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
// status.
//
// Each skill's live state decides what the window is compared with:
//   - the next window after the last published one: diffed against it, and
//     committed, exactly as Run would;
//   - no state, or a later window (a gap, logged with its backfill command):
//     published without a previous window, and committed, so that the next
//     Once or Run continues from it;
//   - a window at or before the last published one: nothing is sent, and
//     the skill counts as done (a cron job that runs twice in one window
//     publishes it once). Sent again without the window before it, every
//     DNIS would be "new" under the same event ids as the first time:
//     another content under ids that consumers deduplicate on. Late data
//     of published windows is what REVISE_WINDOWS is for.
func (s *Scheduler) Once(ctx context.Context, at time.Time) error {
	now := s.clock.Now()
	w := s.calendar.LatestComplete(now)
	if !at.IsZero() {
		w = s.calendar.WindowAt(at)
		if due := s.calendar.Due(w); now.Before(due) {
			return &NotDueError{Window: w, Due: due}
		}
	}
	states, err := s.loadStates(s.cfg.SkillIDs, "")
	if err != nil {
		return err
	}
	var failed []error
	for _, st := range states {
		if err := ctx.Err(); err != nil {
			failed = append(failed, &WindowError{Skill: st.Key.SkillID, Window: w, Step: StepFetch, Err: err})
			continue
		}
		if err := s.onceSkill(ctx, st, w); err != nil {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// onceSkill publishes w for the skill of st; see Once.
func (s *Scheduler) onceSkill(ctx context.Context, st state.State, w Window) error {
	skill := st.Key.SkillID
	wlog := windowLogger(s.log.With().Str("skill", skill).Logger(), w)
	var prev *snapshot.Snapshot
	kept := st.Windows // the windows the commit keeps before w
	if publishedIn(st.Published, w) {
		wlog.Info().Msg("this window was already published, live or by a backfill: nothing is sent (sent again it would carry the same event ids with other content)")
		return nil
	}
	last, ok := st.Last()
	switch {
	case !ok:
		wlog.Info().Msg("no state for this skill: publishing without a previous window to compare with; the state starts here")
	case last.WindowEnd.Equal(w.Start):
		prev = &last
	case last.WindowEnd.Before(w.Start):
		gap := s.calendar.Count(last.WindowEnd, w.Start)
		wlog.Warn().Time("gap_from", last.WindowEnd).Time("gap_to", w.Start).Int("gap_windows", gap).
			Str("backfill", backfillCommand(last.WindowEnd, w.Start, skill)).
			Msgf("%d windows between the last published one and this one are missing; publish them with: %s. This window is published without a previous window to compare with",
				gap, backfillCommand(last.WindowEnd, w.Start, skill))
		if m := s.deps.Metrics; m != nil {
			m.CatchupGaps.WithLabelValues(skill).Add(float64(gap))
		}
		kept = nil // not contiguous with this window any more
	default:
		wlog.Info().Time("last_published_end", last.WindowEnd).
			Msg("this window was already published: nothing is sent (sent again it would carry the same event ids with other content; late data of published windows is what REVISE_WINDOWS is for)")
		return nil
	}

	wctx, cancel := s.windowContext(ctx)
	defer cancel()
	cur, err := s.fetchOrResume(wctx, wlog, skill, w, st.Pending)
	if err != nil {
		return err
	}
	out, err := s.diffWhileSaving(&st, w, &cur, 0, func() snapshot.Output { return snapshot.Diff(prev, cur) })
	if err != nil {
		return err
	}
	if err := s.commit(wctx, &st, w, &cur, 0, out, appendKeeping(kept, out.Snapshot, s.cfg.ReviseWindows+1)); err != nil {
		return err
	}
	logPublished(wlog.Info(), out, prev != nil)
	return nil
}
