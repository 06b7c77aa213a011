package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
)

// Progress follows a backfill; the command shows it as a progress bar on a
// terminal or as periodic log lines.
type Progress interface {
	// Start is called once with the number of windows to publish, summed
	// over skills (windows already published by an interrupted run of the
	// same backfill are not counted).
	Start(total int)
	// Advance says that n more windows were published and committed.
	Advance(n int)
	// Done is called once at the end, also after an error.
	Done()
}

// backfillItem is one window of one skill to backfill.
type backfillItem struct {
	skill  int // index into the backfill's states
	window Window
	// afterGap: the window before it is not one this backfill publishes
	// (or committed before it was interrupted), so it has no previous
	// window to be compared with.
	afterGap bool
}

// fetchedItem is a backfill window fetched and diffed, waiting to be
// published.
type fetchedItem struct {
	backfillItem
	fetchedWindow
	previousKnown bool
}

// Backfill publishes every window of [from, to) of the given skills (all
// configured skills when empty): each window that overlaps the range, in
// order per skill, up to the latest complete window. Windows go out with the
// same event ids as live ones, so the windows already published (the live
// state's spans: the live stream's windows and those of earlier backfills)
// are left out: sent again they would carry those ids with other content. A
// window after one left out has no previous window to compare with. When it
// ends, for whatever reason, the windows it committed join the live spans.
//
// Its state is kept under its own key (Job "backfill-<from>-<to>", from the
// aligned range), apart from the live state: an interrupted backfill started
// again with the same range resumes after the last window it committed. The
// first window of each skill has no previous window to compare with.
//
// The fetch of the next window overlaps the publishing of the current one,
// so a backfill runs at the pace of the API; windows are still published and
// committed strictly in order. Transient errors are retried with backoff; an
// error that retrying cannot fix (bad token, spent quota) stops the backfill,
// which the same command resumes later. When ctx ends, the window being
// published is committed under Deps.ShutdownGrace and Backfill returns an
// error wrapping ctx's.
func (s *Scheduler) Backfill(ctx context.Context, from, to time.Time, skills []string, progress Progress) error {
	if len(skills) == 0 {
		skills = s.cfg.SkillIDs
	}
	if problems := skillIDProblems("--skills", skills); problems != nil {
		return &ConfigError{Problems: problems}
	}
	if !from.Before(to) {
		return &ConfigError{Problems: []string{fmt.Sprintf("--from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))}}
	}
	first := s.calendar.WindowAt(from)
	end := s.calendar.WindowAt(to.Add(-time.Nanosecond)).End
	job := backfillJob(first.Start, end)
	log := s.log.With().Str("job", job).Logger()

	stop := end
	if latest := s.calendar.LatestComplete(s.clock.Now()); latest.End.Before(end) {
		stop = latest.End
		log.Warn().Time("complete_until", stop).
			Msg("the range reaches windows that are not complete yet; they are left out: run the same command later to publish them")
	}
	states, err := s.loadStates(skills, job)
	if err != nil {
		return err
	}
	live, err := s.loadStates(skills, "")
	if err != nil {
		return err
	}
	items, prevs, skipped := s.planBackfill(states, live, first, stop)
	for i, windows := range skipped {
		if len(windows) > 0 {
			log.Info().Str("skill", skills[i]).Int("windows", len(windows)).
				Time("first_start", windows[0].Start).Time("last_end", windows[len(windows)-1].End).
				Msgf("%d windows of skill %s in the range were published already, live or by an earlier backfill: left out (sent again they would carry the same event ids with other content; late data of published windows is what REVISE_WINDOWS is for)",
					len(windows), skills[i])
		}
	}
	// The fetch stage takes up each skill's window in flight when the
	// backfill was interrupted from these (the states belong to the publish
	// stage).
	resume := make([]*state.Pending, len(states))
	for i, st := range states {
		resume[i] = st.Pending
	}
	if progress == nil {
		progress = noProgress{}
	}
	progress.Start(len(items))
	defer progress.Done()
	event := log.Info()
	if calls := s.callsLeft(); calls >= 0 && len(items) > calls {
		event = log.Warn().Int("calls_left_today", calls)
	}
	event.Time("from", first.Start).Time("to", end).Strs("skills", skills).Int("windows", len(items)).
		Msgf("backfill: %d windows to publish, one wolkvox call each", len(items))

	done, err := s.runBackfill(ctx, log, states, items, prevs, resume, progress)
	err = errors.Join(err, s.recordBackfilled(live, states))
	switch {
	case err == nil:
		log.Info().Int("windows", done).Msg("backfill complete")
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("backfill %s interrupted after %d of %d windows; run the same command to resume: %w", job, done, len(items), err)
	default:
		return fmt.Errorf("backfill %s stopped after %d of %d windows; run the same command to resume: %w", job, done, len(items), err)
	}
}

// recordBackfilled adds the windows each skill's backfill job has committed
// (in this run or an interrupted one before it) to the spans of the skill's
// live state, loaded as live before the backfill, so that a later backfill
// over them leaves them out too. Nothing else writes the live state
// meanwhile: the state directory is locked by this process.
func (s *Scheduler) recordBackfilled(live, jobs []state.State) error {
	var errs []error
	for i, job := range jobs {
		if len(job.Published) == 0 {
			continue
		}
		st := live[i]
		merged := mergeSpans(publishedSpans(st), job.Published)
		if sameSpans(merged, st.Published) {
			continue
		}
		st.Published = merged
		if err := s.deps.Store.Save(st); err != nil {
			errs = append(errs, fmt.Errorf("skill %s: recording the backfilled windows in the live state, so that later backfills leave them out: %w",
				st.Key.SkillID, err))
		}
	}
	return errors.Join(errs...)
}

// backfillJob names the state of the backfill of the aligned range
// [from, to).
func backfillJob(from, to time.Time) string {
	const compact = "20060102T150405Z"
	return "backfill-" + from.UTC().Format(compact) + "-" + to.UTC().Format(compact)
}

// planBackfill lists the windows of [first.Start, stop) that each skill
// still needs, window by window across skills, and the snapshot each skill's
// first one is diffed against (its last committed window when resuming).
// The windows the skill's live state says were published, or were being
// published when the service stopped, are left out, and returned per skill.
func (s *Scheduler) planBackfill(states, live []state.State, first Window, stop time.Time) (items []backfillItem, prevs []*snapshot.Snapshot, skipped [][]Window) {
	resumeAt := make([]time.Time, len(states))
	// follows is where each skill's next window starts when it follows the
	// last one it publishes (or committed): zero when there is none.
	follows := make([]time.Time, len(states))
	prevs = make([]*snapshot.Snapshot, len(states))
	skipped = make([][]Window, len(states))
	for i, st := range states {
		resumeAt[i] = first.Start
		if last, ok := st.Last(); ok {
			resumeAt[i] = s.calendar.WindowFrom(last.WindowEnd).Start
			if resumeAt[i].Equal(last.WindowEnd) {
				prevs[i] = &last
				follows[i] = last.WindowEnd
			}
		}
	}
	liveSpans := make([][]state.Span, len(live))
	for i, st := range live {
		liveSpans[i] = publishedSpans(st)
		if p := st.Pending; p != nil && p.Revision == 0 {
			// In flight when the service stopped: it may be in Kafka, and
			// the service publishes it again from its write-ahead record.
			liveSpans[i] = append(slices.Clone(liveSpans[i]), state.Span{Start: p.WindowStart, End: p.WindowEnd})
		}
	}
	for w := first; w.Start.Before(stop); w = s.calendar.Next(w) {
		for i := range states {
			switch {
			case w.Start.Before(resumeAt[i]):
			case publishedIn(liveSpans[i], w):
				skipped[i] = append(skipped[i], w)
			default:
				items = append(items, backfillItem{skill: i, window: w, afterGap: !w.Start.Equal(follows[i])})
				follows[i] = w.End
			}
		}
	}
	return items, prevs, skipped
}

// runBackfill runs a fetch stage and a publish stage per skill, joined by
// unbuffered channels. The fetch stage fetches and diffs the windows in
// order, one call at a time as the token allows; each skill's publish stage
// publishes and commits that skill's windows in the same order. While a
// window is being published, the windows after it are being fetched, those
// of the other skills and the next one of its own skill (diffed against it,
// whose snapshot is already known): publishing a window takes Kafka's
// acknowledgements and two state saves, longer than a call when windows
// are small, and the skills' publishes overlap so that the backfill still
// runs at the pace of the API. A skill's window n+2 is not fetched before
// its window n is committed, which bounds memory to two windows per skill.
// It returns how many windows were committed.
func (s *Scheduler) runBackfill(ctx context.Context, log zerolog.Logger, states []state.State,
	items []backfillItem, prevs []*snapshot.Snapshot, resume []*state.Pending, progress Progress) (int, error) {
	// The fetch stage reads skill ids from here: states belong to the
	// publish stages.
	skills := make([]string, len(states))
	fetched := make([]chan fetchedItem, len(states))
	for i, st := range states {
		skills[i] = st.Key.SkillID
		fetched[i] = make(chan fetchedItem)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer func() {
			for _, ch := range fetched {
				close(ch)
			}
		}()
		for _, it := range items {
			skill := skills[it.skill]
			wlog := windowLogger(log.With().Str("skill", skill).Logger(), it.window)
			var cur snapshot.Window
			err := s.retry(gctx, wlog, func() (err error) {
				cur, err = s.fetchOrResume(gctx, wlog, skill, it.window, resume[it.skill])
				return err
			})
			if err != nil {
				return err
			}
			resume[it.skill] = nil // only the first window of a skill can be the one in flight
			if it.afterGap {
				prevs[it.skill] = nil
			}
			out := snapshot.Diff(prevs[it.skill], cur)
			previousKnown := prevs[it.skill] != nil
			prevs[it.skill] = &out.Snapshot
			select {
			case fetched[it.skill] <- fetchedItem{backfillItem: it, fetchedWindow: fetchedWindow{cur: cur, out: out}, previousKnown: previousKnown}:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	var mu sync.Mutex // guards committed and progress, shared by the publish stages
	committed := 0
	for i := range states {
		g.Go(func() error {
			st := &states[i]
			for f := range fetched[i] {
				if err := gctx.Err(); err != nil {
					return err
				}
				wlog := windowLogger(log.With().Str("skill", skills[i]).Logger(), f.window)
				err := s.retry(gctx, wlog, func() error {
					wctx, cancel := s.windowContext(gctx)
					defer cancel()
					return s.commit(wctx, st, f.window, &f.cur, 0, f.out, appendKeeping(st.Windows, f.out.Snapshot, 1))
				})
				if err != nil {
					return err
				}
				mu.Lock()
				committed++
				progress.Advance(1)
				mu.Unlock()
				logPublished(wlog.Debug(), f.out, f.previousKnown)
			}
			return nil
		})
	}
	err := g.Wait()
	if err != nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return committed, err
}

// retry calls attempt until it succeeds, ctx ends, or it fails with an error
// that retrying cannot fix, waiting retryDelay between attempts.
func (s *Scheduler) retry(ctx context.Context, wlog zerolog.Logger, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		if err == nil || ctx.Err() != nil || permanent(err) {
			return err
		}
		delay := s.retryDelay(n, err)
		wlog.Warn().Err(err).Int("attempt", n).Dur("retry_in", delay).Msg("window failed; retrying it, later windows wait behind it")
		if s.clock.Sleep(ctx, delay) != nil {
			return err
		}
	}
}

// callsLeft returns the calls left today under the quota, or -1 when it is
// not known.
func (s *Scheduler) callsLeft() int {
	if s.deps.DailyQuota <= 0 || s.deps.CallsToday == nil {
		return -1
	}
	return max(0, s.deps.DailyQuota-s.deps.CallsToday())
}

// noProgress is the Progress of a caller that does not follow it.
type noProgress struct{}

func (noProgress) Start(int)   {}
func (noProgress) Advance(int) {}
func (noProgress) Done()       {}
