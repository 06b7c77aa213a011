// Package pipeline builds the service's components from its configuration:
// the wolkvox client, the Kafka producer, the state store (the state topic
// or the state directory), and the
// scheduler's collaborators (scheduler.Deps) with every setting they take
// from config.Config: DNIS hashing, the daily quota, the shutdown grace.
//
// The binary, the fault harness (reliability) and the benchmark
// (cmd/skill6bench) all build the pipeline and its schedulers here, so that
// what the harness breaks and the benchmark times is what ships. They wrap
// a component (to inject faults, or to time it) through Hooks, around the
// real one; nothing is patched after it is built.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/health"
	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/schema"
)

// Options are what the caller shares with every component instead of
// taking it from the configuration.
type Options struct {
	// Clock drives the components' waits and timings and the scheduler.
	// Default: the wall clock.
	Clock clock.Clock
	// Logger is every component's logger. Default (the zero Logger): none.
	Logger zerolog.Logger
	// Metrics records what every component does. Default (nil): nothing.
	Metrics *metrics.Metrics
	// Producer names the program in every event's envelope.
	Producer schema.Producer
	// HTTPClient makes the wolkvox calls. Default: the fetch client's own.
	HTTPClient *http.Client
	// BeforeStateRename is called each time a state file is written and
	// synced, before it replaces the previous one (state.WithBeforeRename);
	// crash tests die there. Default: none.
	BeforeStateRename func()
	// Failpoint becomes scheduler.Deps.Failpoint. Default: none.
	Failpoint func(name string)
	// Hooks wrap the components of every scheduler. Default: none.
	Hooks Hooks
}

// Hooks wrap the components a scheduler uses, around the real ones. A nil
// hook leaves its component as it is.
type Hooks struct {
	Fetcher   func(scheduler.Fetcher) scheduler.Fetcher
	Publisher func(scheduler.Publisher) scheduler.Publisher
	Store     func(scheduler.Store) scheduler.Store
}

// wrap returns deps with h's hooks around its components.
func (h Hooks) wrap(deps scheduler.Deps) scheduler.Deps {
	if h.Fetcher != nil {
		deps.Fetcher = h.Fetcher(deps.Fetcher)
	}
	if h.Publisher != nil {
		deps.Publisher = h.Publisher(deps.Publisher)
	}
	if h.Store != nil {
		deps.Store = h.Store(deps.Store)
	}
	return deps
}

// Pipeline is the components built from one configuration. Fetcher and
// Producer exist from New; Store from Open.
type Pipeline struct {
	Fetcher  *fetch.Client
	Producer *producer.Producer
	Store    Store

	cfg  config.Config
	opts Options
}

// New checks the wolkvox, Kafka, schedule and shutdown settings of cfg and
// builds the fetch client and the producer without connecting to anything.
// Every problem comes out in one error, one line each, in that order.
func New(cfg config.Config, opts Options) (*Pipeline, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	p := &Pipeline{cfg: cfg, opts: opts}
	var problems []error
	var err error
	fetchOpts := []fetch.Option{fetch.WithClock(opts.Clock), fetch.WithLogger(opts.Logger), fetch.WithMetrics(opts.Metrics)}
	if opts.HTTPClient != nil {
		fetchOpts = append(fetchOpts, fetch.WithHTTPClient(opts.HTTPClient))
	}
	// The day's count of calls survives a restart in the state directory;
	// with the state topic it is kept in memory (README, "The daily
	// quota", says why).
	if cfg.Service.StateStore == config.StateStoreDir && cfg.Service.StateDir != "" {
		fetchOpts = append(fetchOpts, fetch.WithCallCountFile(filepath.Join(cfg.Service.StateDir, fetch.CallCountFile)))
	}
	if p.Fetcher, err = fetch.New(cfg.Wolkvox, fetchOpts...); err != nil {
		problems = append(problems, err)
	}
	if p.Producer, err = producer.New(cfg.Kafka, producer.WithLogger(opts.Logger), producer.WithMetrics(opts.Metrics), producer.WithClock(opts.Clock)); err != nil {
		problems = append(problems, err)
	}
	if err := cfg.Schedule.Validate(); err != nil {
		problems = append(problems, err)
	}
	// Close flushes under this deadline: zero would give up at once.
	if cfg.Service.ShutdownTimeout <= 0 {
		problems = append(problems, fmt.Errorf("SHUTDOWN_TIMEOUT=%s: must be positive", cfg.Service.ShutdownTimeout))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return p, nil
}

// Open opens the state store and makes sure the topics of the events
// exist, the first steps that touch the outside world. With STATE_STORE=dir
// it takes the state directory's lock first, so that nothing reaches Kafka
// while another process owns the directory. With the state topic the
// producer's topics come first, whose errors say what is wrong with the
// connection (a rejected SASL password, say), then the state topic is
// created or checked and an old STATE_DIR is taken over into it. After an
// error, Close releases what Open took.
func (p *Pipeline) Open(ctx context.Context) error {
	if p.cfg.Service.StateStore != config.StateStoreDir {
		if err := p.Producer.Bootstrap(ctx); err != nil {
			return err
		}
	}
	store, err := p.openStore(ctx)
	if err != nil {
		return err
	}
	p.Store = store
	if p.cfg.Service.StateStore == config.StateStoreDir {
		return p.Producer.Bootstrap(ctx)
	}
	return nil
}

// Scheduler returns a scheduler over the opened pipeline's components, on
// clk (nil: Options.Clock), telling tracker (nil: nobody) how each skill
// fares, each component wrapped by Options.Hooks and then by hooks.
func (p *Pipeline) Scheduler(clk clock.Clock, tracker *health.Tracker, hooks ...Hooks) (*scheduler.Scheduler, error) {
	deps := p.opts.Hooks.wrap(p.deps(clk))
	deps.Health = tracker
	for _, h := range hooks {
		deps = h.wrap(deps)
	}
	return scheduler.New(p.cfg.Schedule, deps)
}

// deps returns the scheduler's collaborators: the three components and
// every setting of the configuration the scheduler needs.
func (p *Pipeline) deps(clk clock.Clock) scheduler.Deps {
	if clk == nil {
		clk = p.opts.Clock
	}
	return scheduler.Deps{
		Fetcher:       p.Fetcher,
		Publisher:     p.Producer,
		Table:         p.Producer,
		Store:         p.Store,
		Clock:         clk,
		Logger:        p.opts.Logger,
		Metrics:       p.opts.Metrics,
		Location:      p.Fetcher.Location(),
		Operation:     p.cfg.Operation(),
		Producer:      p.opts.Producer,
		Hasher:        schema.NewDNISHasher(p.cfg.Service.DNISHMACKey),
		DailyQuota:    p.cfg.Wolkvox.DailyQuota,
		CallsToday:    p.Fetcher.CallsToday,
		ShutdownGrace: p.cfg.Service.ShutdownTimeout,
		Failpoint:     p.opts.Failpoint,
	}
}

// Close flushes the producer under SHUTDOWN_TIMEOUT, then closes the state
// store if Open opened it. ctx may already be cancelled, as it is
// at shutdown: the deadline is its own.
func (p *Pipeline) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Service.ShutdownTimeout)
	defer cancel()
	err := p.Producer.Close(ctx)
	if p.Store != nil {
		err = errors.Join(err, p.Store.Close())
	}
	return err
}
