package reliability

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/pipeline"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/state"
)

// Failpoints of an in-process run (see Setup.Failpoint). After-publish is
// the scheduler's own; the other two are emulated around the components.
const (
	PointFetch        = "fetch"                         // a wolkvox call is about to be made
	PointAfterPublish = scheduler.FailpointAfterPublish // acknowledged, not committed
	PointStateWrite   = "state-write"                   // a state file is about to replace the last one
)

// ErrKilled is what every component of a killed run answers from then on.
var ErrKilled = errors.New("reliability: the process was killed")

// Setup is one in-process run of the service: the components the binary
// runs (fetch client, producer, state directory, scheduler), built from
// Config by package pipeline on the given clock, so that a test runs days
// of windows in seconds and restarts the service by running it again on
// the same STATE_DIR.
type Setup struct {
	Config config.Config
	Clock  clock.Clock
	Log    zerolog.Logger
	// Failpoint, when set, is asked at every failpoint (Point*); true kills
	// the run there, as SIGKILL would: Run's context is cancelled and from
	// then on every fetch, publish and state save fails, so nothing the
	// dying process would not have done leaves a trace.
	Failpoint func(point string) bool
	// Committed, when set, is called after each commit of a live window
	// (not of a revision) with its skill and start. A window published
	// again after a kill is committed (and reported) again.
	Committed func(skill string, start time.Time)
	// PublishFailed, when set, is called after each failed publish.
	PublishFailed func(err error)
}

// Result is what a run leaves for the checks.
type Result struct {
	Killed  bool
	Metrics string // the registry in Prometheus text format, at the end
}

// Run builds the components as the service does (package pipeline), with
// the failpoints wrapped around them, makes sure the topics exist, and runs
// the scheduler until ctx ends or a failpoint kills the run; then it closes
// the producer and the state directory.
func Run(ctx context.Context, s Setup) (res Result, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &process{setup: s, cancel: cancel, pending: map[string]*state.Pending{}}
	reg := prometheus.NewRegistry()
	pl, err := pipeline.New(s.Config, pipeline.Options{
		Clock:     s.Clock,
		Logger:    s.Log,
		Metrics:   metrics.New(reg),
		Producer:  schema.Producer{Name: "skill6pub", Version: "reliability"},
		Failpoint: func(point string) { p.at(point) },
		Hooks: pipeline.Hooks{
			Fetcher:   func(next scheduler.Fetcher) scheduler.Fetcher { return p.fetcher(next) },
			Publisher: func(next scheduler.Publisher) scheduler.Publisher { return p.publisher(next) },
			Store:     func(next scheduler.Store) scheduler.Store { return &processStore{p: p, next: next} },
		},
	})
	if err != nil {
		return Result{}, err
	}
	defer func() { err = errors.Join(err, pl.Close(ctx)) }()
	if err := pl.Open(ctx); err != nil {
		return Result{}, err
	}
	sched, err := pl.Scheduler(nil, nil)
	if err != nil {
		return Result{}, err
	}
	err = sched.Run(ctx)
	var text strings.Builder
	families, gatherErr := reg.Gather()
	for _, f := range families {
		_, _ = expfmt.MetricFamilyToText(&text, f)
	}
	return Result{Killed: p.dead.Load(), Metrics: text.String()}, errors.Join(err, gatherErr)
}

// process is the state of one run: alive until a failpoint kills it.
type process struct {
	setup  Setup
	cancel context.CancelFunc
	dead   atomic.Bool

	mu      sync.Mutex
	pending map[string]*state.Pending // skill -> the write-ahead record last saved
}

// at passes a failpoint; it reports whether the process is dead after it.
func (p *process) at(point string) bool {
	if p.dead.Load() {
		return true
	}
	if p.setup.Failpoint != nil && p.setup.Failpoint(point) {
		p.dead.Store(true)
		p.cancel()
		return true
	}
	return false
}

type fetcherFunc func(ctx context.Context, skill string, start, end time.Time) (fetch.Report, error)

func (f fetcherFunc) Fetch(ctx context.Context, skill string, start, end time.Time) (fetch.Report, error) {
	return f(ctx, skill, start, end)
}

// fetcher is next in a process that dies at PointFetch.
func (p *process) fetcher(next scheduler.Fetcher) fetcherFunc {
	return func(ctx context.Context, skill string, start, end time.Time) (fetch.Report, error) {
		if p.at(PointFetch) {
			return fetch.Report{}, ErrKilled
		}
		return next.Fetch(ctx, skill, start, end)
	}
}

type publisherFunc func(ctx context.Context, events schema.Events, deadLetters []schema.DeadLetter) error

func (f publisherFunc) Publish(ctx context.Context, events schema.Events, deadLetters []schema.DeadLetter) error {
	return f(ctx, events, deadLetters)
}

// publisher is next in a process that may be dead, reporting each failed
// publish to Setup.PublishFailed.
func (p *process) publisher(next scheduler.Publisher) publisherFunc {
	return func(ctx context.Context, events schema.Events, deadLetters []schema.DeadLetter) error {
		if p.dead.Load() {
			return ErrKilled
		}
		err := next.Publish(ctx, events, deadLetters)
		if err != nil && p.setup.PublishFailed != nil {
			p.setup.PublishFailed(err)
		}
		return err
	}
}

// processStore is the state directory of a process that can die.
type processStore struct {
	p    *process
	next scheduler.Store
}

func (s *processStore) Load(key state.Key) (state.State, bool, error) {
	st, found, err := s.next.Load(key)
	if err == nil {
		// The window in flight when the last run died is committed by this
		// run without a write-ahead save of its own.
		s.p.mu.Lock()
		s.p.pending[key.SkillID] = st.Pending
		s.p.mu.Unlock()
	}
	return st, found, err
}

func (s *processStore) Save(st state.State) error {
	if s.p.at(PointStateWrite) {
		return ErrKilled
	}
	if err := s.next.Save(st); err != nil {
		return err
	}
	// A save without a pending window commits the one the last write-ahead
	// record named: a live window when that record was of revision 0.
	s.p.mu.Lock()
	ahead := s.p.pending[st.Key.SkillID]
	s.p.pending[st.Key.SkillID] = st.Pending
	s.p.mu.Unlock()
	last, ok := st.Last()
	if st.Pending == nil && ok && ahead != nil && ahead.Revision == 0 && ahead.WindowStart.Equal(last.WindowStart) && s.p.setup.Committed != nil {
		s.p.setup.Committed(st.Key.SkillID, last.WindowStart)
	}
	return nil
}
