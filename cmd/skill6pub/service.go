package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/health"
	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/pipeline"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/schema"
)

// service is the binary's pipeline: fetch -> diff -> publish -> commit,
// with one logger, one metrics registry and one clock shared by all of it,
// and the ops server's view of it.
type service struct {
	cfg       config.Config
	log       zerolog.Logger
	clock     clock.Clock
	registry  *prometheus.Registry
	metrics   *metrics.Metrics
	version   string // the stamped version, or the one Go's build information gives
	pipeline  *pipeline.Pipeline
	scheduler *scheduler.Scheduler
	health    *health.Tracker // built by open, on the final clock
	failpoint *failpoint      // SKILL6PUB_FAILPOINT; nil in production
	// opsListener, when set, is where the ops server serves instead of
	// HTTP_ADDR: the demo listens on a free port it prints.
	opsListener net.Listener
}

// loadService reads the configuration from the environment and builds the
// service, logging to stderr.
func loadService(stderr io.Writer) (*service, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log, err := newLogger(cfg.Service.LogLevel, cfg.Service.LogFormat, stderr)
	if err != nil {
		return nil, err
	}
	return newService(cfg, log)
}

// newService checks the whole configuration (config.Config.Validate) and
// builds every component without connecting to anything: configuration
// errors come out together, one line each, before the first connection.
func newService(cfg config.Config, log zerolog.Logger) (*service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &service{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.clock = serviceClock(cfg.Service)

	var problems []error
	var err error
	if s.failpoint, err = parseFailpoint(cfg.Service.Failpoint, log); err != nil {
		problems = append(problems, err)
	}
	s.metrics = metrics.New(s.registry)
	s.version = s.metrics.Build(version)
	s.metrics.Skills(cfg.Schedule.SkillIDs)
	opts := pipeline.Options{
		Clock:     s.clock,
		Logger:    log,
		Metrics:   s.metrics,
		Producer:  schema.Producer{Name: "skill6pub", Version: s.version},
		Failpoint: s.failpoint.hook(),
	}
	if s.failpoint != nil {
		opts.HTTPClient = &http.Client{Transport: s.failpoint.roundTripper(http.DefaultTransport.(*http.Transport).Clone())}
		opts.BeforeStateRename = func() { s.failpoint.hit(failpointStateWrite) }
	}
	if s.pipeline, err = pipeline.New(cfg, opts); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	return s, nil
}

// serviceClock is the wall clock, or an accelerated one for demos and tests.
func serviceClock(c config.ServiceConfig) clock.Clock {
	if c.ClockSpeed == 1 && c.ClockStart.IsZero() {
		return clock.Real{}
	}
	start := c.ClockStart
	if start.IsZero() {
		start = time.Now()
	}
	return clock.NewAccelerated(start, c.ClockSpeed)
}

// open takes the state directory's lock, makes sure the topics exist and
// builds the scheduler. It is the first step that touches the outside world.
func (s *service) open(ctx context.Context) error {
	if err := s.pipeline.Open(ctx); err != nil {
		return err
	}
	// The demo replaces s.clock after newService: its scheduler runs on
	// the demo's accelerated clock, its components on the one they were
	// built with.
	s.health = health.New(s.clock, s.cfg.Schedule.SkillIDs, s.cfg.Schedule.Interval, s.cfg.Schedule.SettleDelay)
	if err := s.registry.Register(s.health); err != nil {
		return err
	}
	var err error
	s.scheduler, err = s.pipeline.Scheduler(s.clock, s.health)
	return err
}

// close flushes the producer under the shutdown deadline and releases the
// state directory. ctx may already be cancelled: the deadline is its own.
func (s *service) close(ctx context.Context) error { return s.pipeline.Close(ctx) }

// ready is the /readyz check: Kafka reachable, every configured skill
// publishing as configured (health.Tracker.Ready), and no skill stopped by
// a problem of its record (scheduler.Problems: a state newer than the
// clock, a lost state directory). All are asked, so that the answer lists
// every reason at once.
func (s *service) ready(ctx context.Context) error {
	var problems []error
	for skill, problem := range s.scheduler.Problems() {
		problems = append(problems, fmt.Errorf("skill %s: %s", skill, problem))
	}
	return errors.Join(s.pipeline.Producer.Ready(ctx), s.health.Ready(), errors.Join(problems...))
}
