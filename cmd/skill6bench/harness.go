package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/pipeline"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/state"
)

// simToken is the token the in-process simulator expects; it guards
// nothing (loopback only).
const simToken = "bench-token"

// operation is the wolkvox server id of the benchmark's events.
const operation = "0032"

// harness is what the pipeline talks to: the wolkvox simulator served over
// loopback HTTP and an in-process Kafka-protocol broker on loopback. The
// broker acknowledges records without keeping them (kfake.BlackholeProduce),
// so that its memory stays flat over a run of several 100,000-row windows;
// its high watermarks still count every record.
type harness struct {
	sim     *wolkvoxsim.Server
	simURL  string
	simSrv  *http.Server
	broker  *kfake.Cluster
	brokers []string
	topic   string
}

// newHarness starts the simulator and the broker, with the service's
// default topic and partition count.
func newHarness(loc *time.Location) (*harness, error) {
	defaults, err := config.Defaults()
	if err != nil {
		return nil, err
	}
	h := &harness{topic: defaults.Kafka.Topic}
	h.sim = wolkvoxsim.New(wolkvoxsim.Config{Token: simToken, Seed: 6, Location: loc})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("simulator listener: %w", err)
	}
	h.simSrv = &http.Server{Handler: h.sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.simSrv.Serve(ln) }()
	h.simURL = wolkvoxsim.URL("http://" + ln.Addr().String())

	h.broker, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.BlackholeProduce(),
		kfake.SeedTopics(int32(defaults.Kafka.TopicPartitions), h.topic, h.topic+".dlq", h.topic+".table"))
	if err != nil {
		_ = h.simSrv.Close()
		return nil, fmt.Errorf("in-process Kafka: %w", err)
	}
	h.brokers = h.broker.ListenAddrs()
	return h, nil
}

func (h *harness) close() {
	h.broker.Close()
	_ = h.simSrv.Close()
}

// records returns how many records the broker acknowledged on the events
// topic so far.
func (h *harness) records() int64 {
	var n int64
	for _, p := range h.broker.PartitionInfos(h.topic) {
		n += p.HighWatermark
	}
	return n
}

// benchPipeline is the service's pipeline as package pipeline builds it
// for the binary (fetch client, producer, state directory, metrics, and the
// scheduler's settings from the configuration), against the simulator at
// simURL and the brokers. Schedulers are built per scenario over the same
// components, each with its own clock and its timers around them.
type benchPipeline struct {
	cfg   config.Config
	all   *pipeline.Pipeline
	store pipeline.Store // all.Store, which a scenario also reads directly
}

func newPipeline(ctx context.Context, simURL string, brokers []string, stateDir string, skills []string) (*benchPipeline, error) {
	cfg, err := config.Defaults()
	if err != nil {
		return nil, err
	}
	cfg.Wolkvox.Server = operation
	cfg.Wolkvox.BaseURL = simURL
	cfg.Wolkvox.Token = secret.New(simToken)
	cfg.Wolkvox.DailyQuota = 0 // a backfill of five skills spends more than a day's quota
	cfg.Schedule.SkillIDs = skills
	cfg.Kafka.Brokers = brokers
	cfg.Service.StateStore = config.StateStoreDir
	cfg.Service.StateDir = stateDir

	all, err := pipeline.New(cfg, pipeline.Options{
		Logger:   zerolog.Nop(),
		Metrics:  metrics.New(prometheus.NewRegistry()),
		Producer: schema.Producer{Name: "skill6bench", Version: "0"},
	})
	if err != nil {
		return nil, err
	}
	if err := all.Open(ctx); err != nil {
		return nil, errors.Join(err, all.Close(ctx))
	}
	return &benchPipeline{cfg: cfg, all: all, store: all.Store}, nil
}

func (p *benchPipeline) close(ctx context.Context) error { return p.all.Close(ctx) }

// scheduler returns a scheduler over the pipeline on clk whose fetches,
// publishes and saves rec times.
func (p *benchPipeline) scheduler(clk clock.Clock, rec *recorder) (*scheduler.Scheduler, error) {
	return p.all.Scheduler(clk, nil, pipeline.Hooks{
		Fetcher:   func(next scheduler.Fetcher) scheduler.Fetcher { return timedFetcher{next, rec} },
		Publisher: func(next scheduler.Publisher) scheduler.Publisher { return timedPublisher{next, rec} },
		Store:     func(next scheduler.Store) scheduler.Store { return timedStore{next, rec} },
	})
}

// calendar lays out the windows as the schedulers do.
func (p *benchPipeline) calendar() scheduler.Calendar {
	return scheduler.Calendar{Interval: p.cfg.Schedule.Interval, SettleDelay: p.cfg.Schedule.SettleDelay, Location: p.all.Fetcher.Location()}
}

// windowTimes is when each step of one window started and ended.
type windowTimes struct {
	fetchStart, fetchEnd time.Time
	publishStart, acked  time.Time
	rows, events         int
}

// interval is a span of time.
type interval struct{ start, end time.Time }

// recorder times the fetches and publishes of every window the pipeline
// handles, keyed by window start, and every state save; it keeps the events
// of one window for the ceiling.
type recorder struct {
	mu      sync.Mutex
	windows map[int64]*windowTimes
	saves   []interval
	fetchT  time.Duration // time spent in fetches, summed
	// keep is the start of the window whose events are kept in kept.
	keep time.Time
	kept []schema.Event
	// saved, when set, is called after each save.
	saved func()
}

func newRecorder() *recorder { return &recorder{windows: map[int64]*windowTimes{}} }

func (r *recorder) window(start time.Time) *windowTimes {
	w := r.windows[start.UnixNano()]
	if w == nil {
		w = &windowTimes{}
		r.windows[start.UnixNano()] = w
	}
	return w
}

func (r *recorder) get(start time.Time) windowTimes {
	r.mu.Lock()
	defer r.mu.Unlock()
	return *r.window(start)
}

// saving returns the time spent in state saves that began within [from, to).
func (r *recorder) saving(from, to time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var d time.Duration
	for _, s := range r.saves {
		if !s.start.Before(from) && s.start.Before(to) {
			d += s.end.Sub(s.start)
		}
	}
	return d
}

// lastSave returns the end of the last state save.
func (r *recorder) lastSave() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.saves) == 0 {
		return time.Time{}
	}
	return r.saves[len(r.saves)-1].end
}

func (r *recorder) fetchTime() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetchT
}

type timedFetcher struct {
	next scheduler.Fetcher
	rec  *recorder
}

func (f timedFetcher) Fetch(ctx context.Context, skill string, start, end time.Time) (fetch.Report, error) {
	began := time.Now()
	rep, err := f.next.Fetch(ctx, skill, start, end)
	ended := time.Now()
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	w := f.rec.window(start)
	w.fetchStart, w.fetchEnd, w.rows = began, ended, len(rep.Rows)
	f.rec.fetchT += ended.Sub(began)
	return rep, err
}

type timedPublisher struct {
	next scheduler.Publisher
	rec  *recorder
}

func (p timedPublisher) Publish(ctx context.Context, events schema.Events, deadLetters []schema.DeadLetter) error {
	began := time.Now()
	err := p.next.Publish(ctx, events, deadLetters)
	ended := time.Now()
	if events.Len() == 0 {
		return err
	}
	start := events.Slice(0, 1)[0].Head().WindowStart
	p.rec.mu.Lock()
	defer p.rec.mu.Unlock()
	w := p.rec.window(start)
	w.publishStart, w.acked, w.events = began, ended, events.Len()
	if start.Equal(p.rec.keep) {
		p.rec.kept = events.Slice(0, events.Len())
	}
	return err
}

type timedStore struct {
	next scheduler.Store
	rec  *recorder
}

func (s timedStore) Load(key state.Key) (state.State, bool, error) { return s.next.Load(key) }

func (s timedStore) Save(st state.State) error {
	began := time.Now()
	err := s.next.Save(st)
	s.rec.mu.Lock()
	s.rec.saves = append(s.rec.saves, interval{began, time.Now()})
	saved := s.rec.saved
	s.rec.mu.Unlock()
	if saved != nil {
		saved()
	}
	return err
}
