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
	pipeline  *pipeline.Pipeline
	scheduler *scheduler.Scheduler
	failpoint *failpoint // SKILL6PUB_FAILPOINT; nil in production
}

// loadService reads the configuration from the environment and builds the
// service, logging to stderr.
func loadService(stderr io.Writer) (*service, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	log, logErr := newLogger(cfg.Service.LogLevel, cfg.Service.LogFormat, stderr)
	svc, err := newService(cfg, log)
	if err := errors.Join(logErr, err); err != nil {
		return nil, err
	}
	return svc, nil
}

// newService checks the whole configuration and builds every component
// without connecting to anything: configuration errors come out together,
// one line each, before the first connection.
func newService(cfg config.Config, log zerolog.Logger) (*service, error) {
	s := &service{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.clock = serviceClock(cfg.Service)

	var problems []error
	var err error
	if s.failpoint, err = parseFailpoint(cfg.Service.Failpoint, log); err != nil {
		problems = append(problems, err)
	}
	opts := pipeline.Options{
		Clock:     s.clock,
		Logger:    log,
		Metrics:   metrics.New(s.registry),
		Producer:  schema.Producer{Name: "skill6pub", Version: version},
		Failpoint: s.failpoint.hook(),
	}
	if s.failpoint != nil {
		opts.HTTPClient = &http.Client{Transport: s.failpoint.roundTripper(http.DefaultTransport.(*http.Transport).Clone())}
		opts.BeforeStateRename = func() { s.failpoint.hit(failpointStateWrite) }
	}
	if s.pipeline, err = pipeline.New(cfg, opts); err != nil {
		problems = append(problems, err)
	}
	if addr := cfg.Service.HTTPAddr; addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			problems = append(problems, fmt.Errorf("HTTP_ADDR=%q: want host:port like :8080 or 127.0.0.1:8080 (empty disables the ops server)", addr))
		}
	}
	if cfg.Service.ClockSpeed <= 0 {
		problems = append(problems, fmt.Errorf("CLOCK_SPEED=%g: must be positive", cfg.Service.ClockSpeed))
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
	var err error
	s.scheduler, err = s.pipeline.Scheduler(s.clock)
	return err
}

// close flushes the producer under the shutdown deadline and releases the
// state directory. ctx may already be cancelled: the deadline is its own.
func (s *service) close(ctx context.Context) error { return s.pipeline.Close(ctx) }

// ready is the /readyz check: Kafka reachable and every skill's last window
// published within two intervals of now.
func (s *service) ready(ctx context.Context) error {
	if err := s.pipeline.Producer.Ready(ctx); err != nil {
		return err
	}
	for skill, problem := range s.scheduler.Problems() {
		return fmt.Errorf("skill %s: %s", skill, problem)
	}
	now := s.clock.Now()
	limit := 2*s.cfg.Schedule.Interval + s.cfg.Schedule.SettleDelay
	for skill, end := range s.scheduler.LastPublished() {
		if age := now.Sub(end); age > limit {
			return fmt.Errorf("skill %s: last window published ended %s ago (limit %s)", skill, age.Round(time.Second), limit)
		}
	}
	return nil
}
