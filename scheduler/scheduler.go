package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/health"
	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
)

// Fetcher fetches one window [start, end) of the skill_6 report for one
// skill. *fetch.Client implements it. Errors that have a Retriable() bool
// method saying false (fetch.Error of kind auth, quota, bad request) are not
// retried quickly.
type Fetcher interface {
	Fetch(ctx context.Context, skillID string, start, end time.Time) (fetch.Report, error)
}

// Publisher publishes one window's events and dead letters; a nil error means
// Kafka acknowledged all of them. *producer.Producer implements it.
type Publisher interface {
	Publish(ctx context.Context, events schema.Events, deadLetters []schema.DeadLetter) error
}

// Store keeps the state of each stream of windows. *state.Dir implements it.
type Store interface {
	Load(key state.Key) (state.State, bool, error)
	Save(s state.State) error
}

// Deps are the scheduler's collaborators and the settings it shares with
// other parts of the service.
type Deps struct {
	Fetcher   Fetcher
	Publisher Publisher
	Store     Store
	Clock     clock.Clock // nil: the wall clock
	Logger    zerolog.Logger
	Metrics   *metrics.Metrics // nil: nothing recorded
	// Location is WOLKVOX_TIMEZONE: windows align to its wall clock.
	Location *time.Location
	// Operation is the wolkvox server id; it names the stream in events and
	// state keys.
	Operation string
	Producer  schema.Producer
	// Hasher replaces each DNIS by its keyed hash; nil publishes DNIS as is.
	Hasher *schema.DNISHasher
	// DailyQuota is WOLKVOX_DAILY_QUOTA; 0 means not enforced.
	DailyQuota int
	// CallsToday returns the calls spent today, to warn as they approach the
	// quota; nil disables the warning.
	CallsToday func() int
	// ShutdownGrace is SHUTDOWN_TIMEOUT: once ctx ends, the window in flight
	// gets this long (wall-clock time) to publish and commit. 0 means 30s.
	ShutdownGrace time.Duration
	// Health hears how each skill's live windows fare (start, published,
	// failed): /readyz and the age metrics come from it. nil: nobody.
	Health *health.Tracker
	// Failpoint, when set, is called with the name of each point of a
	// window's work where crash tests stop the process
	// (FailpointAfterPublish). nil: none.
	Failpoint func(name string)
}

// FailpointAfterPublish is passed to Deps.Failpoint once a window (or a
// revision) is acknowledged by Kafka and before its state is committed: a
// process that dies there publishes the window again at its next start.
const FailpointAfterPublish = "after-publish"

const defaultShutdownGrace = 30 * time.Second

// Scheduler publishes the windows of every configured skill: live (Run), one
// window (Once) or a historical range (Backfill).
type Scheduler struct {
	cfg      Config
	deps     Deps
	calendar Calendar
	clock    clock.Clock
	log      zerolog.Logger
	quota    quotaWatch
}

// New checks cfg and deps and returns a Scheduler.
func New(cfg Config, deps Deps) (*Scheduler, error) {
	var problems []string
	if err := cfg.Validate(); err != nil {
		var ce *ConfigError
		if !errors.As(err, &ce) {
			return nil, err
		}
		problems = ce.Problems
	}
	if deps.Fetcher == nil || deps.Publisher == nil || deps.Store == nil {
		problems = append(problems, "scheduler: Fetcher, Publisher and Store are required")
	}
	if deps.Location == nil {
		problems = append(problems, "WOLKVOX_TIMEZONE: no time zone given")
	}
	if deps.Operation == "" {
		problems = append(problems, "WOLKVOX_SERVER: no operation (server id) given")
	}
	if problems != nil {
		return nil, &ConfigError{Problems: problems}
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if deps.ShutdownGrace <= 0 {
		deps.ShutdownGrace = defaultShutdownGrace
	}
	return &Scheduler{
		cfg:      cfg,
		deps:     deps,
		calendar: Calendar{Interval: cfg.Interval, SettleDelay: cfg.SettleDelay, Location: deps.Location},
		clock:    deps.Clock,
		log:      deps.Logger,
	}, nil
}

// Calendar returns the layout of windows: alignment and due times.
func (s *Scheduler) Calendar() Calendar { return s.calendar }

// Step is the part of a window's work that failed.
type Step string

// The steps of a window, in order.
const (
	StepLoad        Step = "load state"
	StepFetch       Step = "fetch"
	StepSavePending Step = "save the window in flight"
	StepPublish     Step = "publish"
	StepSave        Step = "save state"
)

// WindowError says which window of which skill failed, and at which step.
type WindowError struct {
	Skill  string
	Window Window
	Step   Step
	Err    error
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("skill %s window %s: %s: %v", e.Skill, e.Window.Start.Format(time.RFC3339), e.Step, e.Err)
}

func (e *WindowError) Unwrap() error { return e.Err }

// retriable is what an error says about itself when it knows whether trying
// again can help (fetch.Error does).
type retriable interface{ Retriable() bool }

// permanent reports whether err says that retrying soon cannot help: a wrong
// token, a spent quota, a request wolkvox refuses.
func permanent(err error) bool {
	var r retriable
	return errors.As(err, &r) && !r.Retriable()
}

// Retry pacing of a failing window. Delays are deterministic: the fetch
// client adds jitter to its own retries, and the token lock spreads skills.
const (
	retryFirst = 2 * time.Second
	retryMax   = time.Minute
)

// retryDelay returns the wait before the next attempt of a window that failed
// attempt times, the last time with err. Transient errors back off from 2s
// to a minute (or the interval when shorter); errors that say retrying will
// not help back off from there up to the interval, so that a spent quota or
// a revoked token is not hammered, and still nothing is skipped.
func (s *Scheduler) retryDelay(attempt int, err error) time.Duration {
	first, ceiling := min(retryFirst, s.cfg.Interval), min(retryMax, s.cfg.Interval)
	if permanent(err) {
		first, ceiling = ceiling, max(ceiling, s.cfg.Interval)
	}
	d := first
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// windowContext returns the context for one window's work: it ignores the
// end of ctx for up to ShutdownGrace, so that a window in flight at shutdown
// is published and committed rather than left half done. The grace is wall
// time, not the injected clock: it is a promise to whoever sent the signal.
func (s *Scheduler) windowContext(ctx context.Context) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		timer := time.NewTimer(s.deps.ShutdownGrace)
		defer timer.Stop()
		select {
		case <-timer.C:
			cancel()
		case <-wctx.Done():
		}
	})
	return wctx, func() {
		stop()
		cancel()
	}
}

// windowLogger returns log with the window's start, so that every line
// about a window says which one.
func windowLogger(log zerolog.Logger, w Window) zerolog.Logger {
	return log.With().Time("window_start", w.Start).Logger()
}

// fetchWindow fetches w for skill and wraps the report, pseudonymized once
// and for all, for the diff.
func (s *Scheduler) fetchWindow(ctx context.Context, skill string, w Window) (snapshot.Window, error) {
	report, err := s.deps.Fetcher.Fetch(ctx, skill, w.Start, w.End)
	s.watchCalls()
	if err != nil {
		return snapshot.Window{}, &WindowError{Skill: skill, Window: w, Step: StepFetch, Err: err}
	}
	return s.windowOf(skill, w, s.clock.Now(), snapshot.Pseudonymize(report, s.deps.Hasher)), nil
}

// fetchOrResume returns window w of skill: rebuilt from p, the write-ahead
// record of the window in flight when the last run stopped, when p is that
// window, so that it goes out again exactly as it did; fetched otherwise.
func (s *Scheduler) fetchOrResume(ctx context.Context, wlog zerolog.Logger, skill string, w Window, p *state.Pending) (snapshot.Window, error) {
	if p == nil || p.Revision != 0 || !p.WindowStart.Equal(w.Start) || !p.WindowEnd.Equal(w.End) {
		return s.fetchWindow(ctx, skill, w)
	}
	if p.DNISKeyID != s.deps.Hasher.KeyID() {
		wlog.Warn().Msg("the window in flight at the last stop was pseudonymized with another DNIS_HMAC_KEY: fetching it again")
		return s.fetchWindow(ctx, skill, w)
	}
	wlog.Info().Time("fetched_at", p.FetchedAt).
		Msg("resuming the window in flight at the last stop: it goes out again exactly as before (same event ids and payloads), without fetching it again")
	return s.windowOf(skill, w, p.FetchedAt, p.Report), nil
}

// windowOf wraps an already pseudonymized report of w for the diff.
func (s *Scheduler) windowOf(skill string, w Window, fetchedAt time.Time, report fetch.Report) snapshot.Window {
	return snapshot.Window{
		Operation:     s.deps.Operation,
		SkillID:       skill,
		Start:         w.Start,
		End:           w.End,
		FetchedAt:     fetchedAt.In(s.deps.Location),
		Producer:      s.deps.Producer,
		Hasher:        s.deps.Hasher,
		Report:        report,
		Pseudonymized: true,
	}
}

// commit publishes out, the output of revision of window w made from cur,
// then saves st with windows as its published windows. Before it publishes,
// it saves cur in st as the pending window (a write-ahead record, unless st
// holds it already, from diffWhileSaving or from an attempt that failed): a
// crash between the publish and the commit then publishes the same records
// again at the next start, where fetching again could give other data under
// the same event ids. st changes only as each save succeeds; a window whose
// publish fails is never committed.
//
// Once the write-ahead record is saved, cur's rows are let go: out holds
// the window sorted and merged, and an attempt after a failure finds the
// record in st and does not save it again. The rows in response order were
// 15% of the memory of a 100,000-row window's publish.
func (s *Scheduler) commit(ctx context.Context, st *state.State, w Window, cur *snapshot.Window, revision int, out snapshot.Output, windows []snapshot.Snapshot) error {
	skill := st.Key.SkillID
	ahead, err := s.saveAhead(*st, w, cur, revision)
	if err != nil {
		return err
	}
	*st = ahead
	cur.Report.Rows = nil
	if err := s.publish(ctx, skill, w, out); err != nil {
		return err
	}
	if s.deps.Failpoint != nil {
		s.deps.Failpoint(FailpointAfterPublish)
	}
	next := state.State{Key: st.Key, Windows: windows, Published: withPublished(*st, w)}
	if err := s.deps.Store.Save(next); err != nil {
		return &WindowError{Skill: skill, Window: w, Step: StepSave, Err: err}
	}
	*st = next
	return nil
}

// diffWhileSaving returns diff(), which must read cur and nothing of st but
// its snapshots, run while the write-ahead record commit would save first
// is saved: both only read the rows, and on two cores a 100,000-row
// window's diff (0.07 s) then hides in its save (0.12 s) instead of adding
// to the time before the first record is sent. st takes the record once it
// is saved; when the save fails, commit tries it again.
func (s *Scheduler) diffWhileSaving(st *state.State, w Window, cur *snapshot.Window, revision int, diff func() snapshot.Output) (snapshot.Output, error) {
	var (
		ahead state.State
		err   error
		saver sync.WaitGroup
	)
	current := *st
	saver.Go(func() { ahead, err = s.saveAhead(current, w, cur, revision) })
	out := diff()
	saver.Wait()
	if err != nil {
		return out, err
	}
	*st = ahead
	return out, nil
}

// saveAhead returns st with cur as the pending window, the write-ahead
// record of revision of window w, once it is saved; st itself when it holds
// that record already.
func (s *Scheduler) saveAhead(st state.State, w Window, cur *snapshot.Window, revision int) (state.State, error) {
	if p := st.Pending; p != nil && p.Revision == revision && p.WindowStart.Equal(cur.Start) && p.FetchedAt.Equal(cur.FetchedAt) {
		return st, nil
	}
	ahead := state.State{Key: st.Key, Windows: st.Windows, Published: st.Published, Pending: &state.Pending{
		WindowStart: cur.Start,
		WindowEnd:   cur.End,
		Revision:    revision,
		FetchedAt:   cur.FetchedAt,
		Report:      cur.Report,
		DNISKeyID:   cur.Hasher.KeyID(),
	}}
	if err := s.deps.Store.Save(ahead); err != nil {
		return st, &WindowError{Skill: st.Key.SkillID, Window: w, Step: StepSavePending, Err: err}
	}
	// The store may keep what it was given: the copy in st drops the rows,
	// not the saved record.
	kept := *ahead.Pending
	kept.Report.Rows = nil
	ahead.Pending = &kept
	return ahead, nil
}

// publish sends out's events and dead letters and counts a failure, which
// the caller retries.
func (s *Scheduler) publish(ctx context.Context, skill string, w Window, out snapshot.Output) error {
	err := s.deps.Publisher.Publish(ctx, out.Events, out.DeadLetters)
	if err == nil {
		return nil
	}
	if m := s.deps.Metrics; m != nil {
		m.PublishErrors.Inc()
	}
	return &WindowError{Skill: skill, Window: w, Step: StepPublish, Err: err}
}

// appendKeeping returns a new slice of the last keep snapshots of windows
// followed by snap; windows itself is not modified.
func appendKeeping(windows []snapshot.Snapshot, snap snapshot.Snapshot, keep int) []snapshot.Snapshot {
	if drop := len(windows) + 1 - keep; drop > 0 {
		windows = windows[min(drop, len(windows)):]
	}
	return append(slices.Clone(windows), snap)
}

// watchCalls warns as the calls spent today approach the daily quota.
func (s *Scheduler) watchCalls() {
	if s.deps.CallsToday != nil {
		s.quota.check(s.log, s.deps.CallsToday(), s.deps.DailyQuota)
	}
}

// loadStates loads the state of every skill under job before any window is
// fetched, so that an unreadable state file stops the start.
func (s *Scheduler) loadStates(skills []string, job string) ([]state.State, error) {
	states := make([]state.State, len(skills))
	for i, skill := range skills {
		key := state.Key{Operation: s.deps.Operation, SkillID: skill, Job: job}
		st, _, err := s.deps.Store.Load(key)
		if err != nil {
			return nil, fmt.Errorf("skill %s: %s: %w", skill, StepLoad, err)
		}
		st.Key = key
		if p := st.Pending; p != nil {
			p.WindowStart, p.WindowEnd = p.WindowStart.In(s.deps.Location), p.WindowEnd.In(s.deps.Location)
		}
		for i := range st.Windows {
			st.Windows[i].WindowStart = st.Windows[i].WindowStart.In(s.deps.Location)
			st.Windows[i].WindowEnd = st.Windows[i].WindowEnd.In(s.deps.Location)
		}
		states[i] = st
	}
	return states, nil
}

// backfillCommand is the command line that publishes the windows of
// [from, to) of one skill.
func backfillCommand(from, to time.Time, skill string) string {
	return fmt.Sprintf("skill6pub backfill --from %s --to %s --skills %s",
		from.Format(time.RFC3339), to.Format(time.RFC3339), skill)
}
