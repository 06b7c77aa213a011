package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/skill6pub/skill6pub/health"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/window"
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
}

// Backfill publishes every window of [from, to) of the given skills (all
// configured skills when empty) that is not published yet: each window that
// overlaps the range, in order per skill, up to the latest complete window.
// It reads and writes the skills' one record, the same as run and once:
// it first publishes a window left in flight by any command, leaves out
// the windows already published (live, by once or by another backfill;
// logged per skill), and commits each window it publishes into the
// record's published spans as it goes, so that a backfill stopped at any
// moment, even by SIGKILL, has recorded every window it committed, and
// the same command (or any other) goes on from there.
//
// A window is compared with the window before it when that one is the
// skill's last published window or was published by this backfill right
// before it; with none otherwise (after a window left out, at the start of
// the range). Its event ids say which (the previous window is part of
// every id).
//
// The fetch of the next window overlaps the publishing of the current one,
// so a backfill runs at the pace of the API; windows are still published and
// committed strictly in order. Errors are retried with the live loop's
// backoff; an error that retrying cannot fix (bad token, spent quota) stops
// the backfill, which the same command resumes later. When ctx ends, the
// window being published is committed under Deps.ShutdownGrace and Backfill
// returns an error wrapping ctx's.
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
	log := s.log.With().Time("from", first.Start).Time("to", end).Logger()

	stop := end
	if latest := s.calendar.LatestComplete(s.clock.Now()); latest.End.Before(end) {
		stop = latest.End
		log.Warn().Time("complete_until", stop).
			Msg("the range reaches windows that are not complete yet; they are left out: run the same command later to publish them")
	}
	states, err := s.loadStates(skills)
	if err != nil {
		return err
	}
	limit := health.Limit(s.cfg.Interval, s.cfg.SettleDelay)
	for i := range states {
		p := states[i].Pending
		if p == nil {
			continue
		}
		wlog := log.With().Str("skill", skills[i]).Logger()
		err := window.Retry(ctx, s.clock, wlog, s.cfg.Interval, limit, Window{Start: p.WindowStart, End: p.WindowEnd}, func() error {
			var r window.Result
			var err error
			states[i], r, err = s.tx.Recover(ctx, states[i])
			s.watchCalls()
			if err == nil && r.Published {
				logPublished(windowLog(wlog, r.Window, zerolog.InfoLevel), r)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("backfill: publishing the window in flight of skill %s first: %w", skills[i], err)
		}
	}
	items, skipped := s.planBackfill(states, first.Start, stop)
	for i, spans := range skipped {
		if n := countWindows(spans, s.calendar); n > 0 {
			log.Info().Str("skill", skills[i]).Int("windows", n).
				Time("first_start", spans[0].Start).Time("last_end", spans[len(spans)-1].End).
				Msgf("%d windows of skill %s in the range were published already (live, by once or by a backfill): left out (sent again they would carry the same event ids with other content; late data of published windows is what REVISE_WINDOWS is for)",
					n, skills[i])
		}
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
	event.Strs("skills", skills).Int("windows", len(items)).
		Msgf("backfill: %d windows to publish, one wolkvox call each", len(items))

	done, err := s.runBackfill(ctx, log, states, items, progress)
	switch {
	case err == nil:
		log.Info().Int("windows", done).Msg("backfill complete")
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("backfill interrupted after %d of %d windows; every window committed is recorded, run the same command to go on: %w", done, len(items), err)
	default:
		return fmt.Errorf("backfill stopped after %d of %d windows; every window committed is recorded, run the same command to go on: %w", done, len(items), err)
	}
}

// planBackfill lists the windows of [from, stop) that each skill has not
// published yet, window by window across skills, and per skill the spans
// of the range published already.
func (s *Scheduler) planBackfill(states []state.State, from, stop time.Time) (items []backfillItem, skipped [][]state.Span) {
	skipped = make([][]state.Span, len(states))
	var perSkill [][]Window
	for i, st := range states {
		spans := st.PublishedSpans()
		var windows []Window
		for t := from; t.Before(stop); {
			w := s.calendar.Unpublished(spans, t)
			if w.Start.After(t) {
				skipped[i] = append(skipped[i], state.Span{Start: t, End: minTime(w.Start, stop)})
			}
			if !w.Start.Before(stop) {
				break
			}
			w.End = minTime(w.End, stop)
			windows = append(windows, w)
			t = w.End
		}
		perSkill = append(perSkill, windows)
	}
	for k := 0; ; k++ {
		more := false
		for i, windows := range perSkill {
			if k < len(windows) {
				items = append(items, backfillItem{skill: i, window: windows[k]})
				more = true
			}
		}
		if !more {
			return items, skipped
		}
	}
}

// countWindows returns how many windows of the calendar start in spans.
func countWindows(spans []state.Span, c Calendar) int {
	n := 0
	for _, span := range spans {
		n += c.Count(span.Start, span.End)
	}
	return n
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
func (s *Scheduler) runBackfill(ctx context.Context, log zerolog.Logger, states []state.State, items []backfillItem, progress Progress) (int, error) {
	// The fetch stage reads from these: states belong to the publish stages.
	skills := make([]string, len(states))
	start := make([]state.State, len(states))
	fetched := make([]chan *window.Prepared, len(states))
	for i, st := range states {
		skills[i], start[i] = st.Key.SkillID, st
		fetched[i] = make(chan *window.Prepared)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer func() {
			for _, ch := range fetched {
				close(ch)
			}
		}()
		// prev is each skill's window last prepared by this backfill.
		prev := make([]*snapshot.Snapshot, len(states))
		for _, it := range items {
			wlog := window.Logger(log.With().Str("skill", skills[it.skill]).Logger(), it.window)
			base := baseOf(start[it.skill], it.window)
			if p := prev[it.skill]; p != nil && p.WindowEnd.Equal(it.window.Start) {
				base = p
			}
			var p *window.Prepared
			err := window.Retry(gctx, s.clock, wlog, s.cfg.Interval, health.Limit(s.cfg.Interval, s.cfg.SettleDelay), it.window, func() (err error) {
				p, err = s.tx.Prepare(gctx, start[it.skill], window.Job{Window: it.window, Base: base})
				s.watchCalls()
				return err
			})
			if err != nil {
				return err
			}
			out := p.Output()
			prev[it.skill] = &out.Snapshot
			select {
			case fetched[it.skill] <- p:
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
			for p := range fetched[i] {
				if err := gctx.Err(); err != nil {
					return err
				}
				wlog := window.Logger(log.With().Str("skill", skills[i]).Logger(), p.Window())
				var conflict error // the last attempt's Conflict
				taken := false     // the window went out from another process's record
				err := window.Retry(gctx, s.clock, wlog, s.cfg.Interval, health.Limit(s.cfg.Interval, s.cfg.SettleDelay), p.Window(), func() (err error) {
					if conflict != nil {
						if states[i], err = s.resync(gctx, wlog, states[i].Key, conflict); err != nil {
							return err
						}
						conflict = nil
						if taken = published(states[i], p.Window()); taken {
							return nil
						}
					}
					states[i], err = s.tx.Commit(gctx, states[i], p)
					if window.Conflict(err) {
						conflict = err
					}
					return err
				})
				if err != nil {
					return err
				}
				mu.Lock()
				if !taken {
					committed++
				}
				progress.Advance(1)
				mu.Unlock()
				if taken {
					wlog.Info().Msg("another process published this window meanwhile, from its own record: this fetch is left out")
					continue
				}
				logPublished(wlog.Debug(), p.Result())
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

// published reports whether st's published spans cover w whole.
func published(st state.State, w Window) bool {
	for _, sp := range st.PublishedSpans() {
		if !sp.Start.After(w.Start) && !sp.End.Before(w.End) {
			return true
		}
	}
	return false
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
