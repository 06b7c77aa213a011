package scheduler

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/health"
	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/window"
)

// The scheduler's collaborators are the window transaction's.
type (
	// Fetcher fetches one window of the report; *fetch.Client implements it.
	Fetcher = window.Fetcher
	// Publisher publishes one window's events; *producer.Producer implements it.
	Publisher = window.Publisher
	// Store keeps each stream's state; *state.Dir implements it.
	Store = window.Store
	// Window is one report window [Start, End).
	Window = window.Window
)

// Deps are the scheduler's collaborators and the settings it shares with
// other parts of the service.
type Deps struct {
	Fetcher   Fetcher
	Publisher Publisher
	Store     Store
	// Table gets the events of each skill's latest window for the
	// compacted table topic; *producer.Producer implements it. nil: none.
	Table   window.TablePublisher
	Clock   clock.Clock // nil: the wall clock
	Logger  zerolog.Logger
	Metrics *metrics.Metrics // nil: nothing recorded
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
// revision) is acknowledged by Kafka and before its state is committed.
const FailpointAfterPublish = window.FailpointAfterPublish

// Scheduler publishes the windows of every configured skill: live (Run), one
// window (Once) or a historical range (Backfill). It keeps the calendar and
// the loops; each window's work is a window.Transaction.
type Scheduler struct {
	cfg      Config
	deps     Deps
	calendar Calendar
	clock    clock.Clock
	log      zerolog.Logger
	quota    quotaWatch
	tx       *window.Transaction

	mu       sync.Mutex
	problems map[string]string // live: why a skill cannot publish, by skill
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
	tx, err := window.New(window.Deps{
		Fetcher: deps.Fetcher, Publisher: deps.Publisher, Store: deps.Store, Table: deps.Table, Clock: deps.Clock,
		Logger: deps.Logger, Location: deps.Location, Operation: deps.Operation,
		Producer: deps.Producer, Hasher: deps.Hasher, Keep: cfg.ReviseWindows + 1,
		ShutdownGrace: deps.ShutdownGrace, Failpoint: deps.Failpoint,
	})
	if err != nil {
		return nil, err
	}
	return &Scheduler{
		cfg:      cfg,
		deps:     deps,
		calendar: Calendar{Interval: cfg.Interval, SettleDelay: cfg.SettleDelay, Location: deps.Location},
		clock:    deps.Clock,
		log:      deps.Logger,
		tx:       tx,
		problems: make(map[string]string),
	}, nil
}

// Calendar returns the layout of windows: alignment and due times.
func (s *Scheduler) Calendar() Calendar { return s.calendar }

// Problems returns, per skill, why the live stream cannot publish as
// configured right now (its state is newer than the clock, its state
// directory was lost); empty when none. The ops server's readiness uses it.
func (s *Scheduler) Problems() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.problems))
	for k, v := range s.problems {
		out[k] = v
	}
	return out
}

// clearProblems forgets every skill's problem.
func (s *Scheduler) clearProblems() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.problems)
}

// setProblem records why skill cannot publish; "" clears it.
func (s *Scheduler) setProblem(skill, problem string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if problem == "" {
		delete(s.problems, skill)
		return
	}
	s.problems[skill] = problem
}

// watchCalls warns as the calls spent today approach the daily quota.
func (s *Scheduler) watchCalls() {
	if s.deps.CallsToday != nil {
		s.quota.check(s.log, s.deps.CallsToday(), s.deps.DailyQuota)
	}
}

// loadStates loads the live state of every skill before any window is
// fetched, so that an unreadable state file stops the start.
func (s *Scheduler) loadStates(skills []string) ([]state.State, error) {
	states := make([]state.State, len(skills))
	for i, skill := range skills {
		key := state.Key{Operation: s.deps.Operation, SkillID: skill}
		st, _, err := s.deps.Store.Load(key)
		if err != nil {
			return nil, fmt.Errorf("skill %s: %s: %w", skill, window.StepLoad, err)
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

// baseOf returns the snapshot w is compared with: st's latest window when
// w follows it, none otherwise.
func baseOf(st state.State, w Window) *snapshot.Snapshot {
	if last, ok := st.Last(); ok && last.WindowEnd.Equal(w.Start) {
		return &last
	}
	return nil
}

// windowLog starts a log event at level about window w.
func windowLog(log zerolog.Logger, w Window, level zerolog.Level) *zerolog.Event {
	wlog := window.Logger(log, w)
	return wlog.WithLevel(level)
}

// logPublished logs one published and committed window at level.
func logPublished(event *zerolog.Event, r window.Result) {
	event.Int("revision", r.Revision).Int("rows", r.Rows).Int("events", r.Events).
		Int("dead_letters", r.DeadLetters).Bool("previous_window_known", r.PreviousKnown).Bool("resumed", r.Resumed).
		Bool("next_window_revised", r.Followed).
		Msg("window published")
}

// backfillCommand is the command line that publishes the windows of
// [from, to) of one skill.
func backfillCommand(from, to time.Time, skill string) string {
	return fmt.Sprintf("skill6pub backfill --from %s --to %s --skills %s",
		from.Format(time.RFC3339), to.Format(time.RFC3339), skill)
}
