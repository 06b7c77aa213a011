package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/pipeline"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/state/kafkastore"
)

const (
	token   = "pipeline-test-token"
	hmacKey = "pipeline-test-hmac-key"
	skill   = "3"
)

// world is the simulator and an in-process broker on loopback, and a
// configuration of the service that points at them.
type world struct {
	sim *wolkvoxsim.Server
	loc *time.Location
	cfg config.Config
}

func newWorld(t *testing.T) *world {
	t.Helper()
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}
	sim := wolkvoxsim.New(wolkvoxsim.Config{Token: token, Seed: 6, Location: loc, CallersPerWindow: 30, Population: 50})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	broker, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)

	cfg, err := config.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Wolkvox.Server = "0032"
	cfg.Wolkvox.BaseURL = wolkvoxsim.URL(srv.URL)
	cfg.Wolkvox.Token = secret.New(token)
	cfg.Schedule.SkillIDs = []string{skill}
	cfg.Kafka.Brokers = broker.ListenAddrs()
	cfg.Kafka.CreateTopics = true
	cfg.Kafka.TopicPartitions = 3
	cfg.Kafka.TopicReplication = 1
	cfg.Service.StateDir = t.TempDir()
	cfg.Service.ShutdownTimeout = 7 * time.Second
	return &world{sim: sim, loc: loc, cfg: cfg}
}

// open builds the pipeline of cfg, opens it and returns its scheduler; the
// test closes it.
func open(t *testing.T, cfg config.Config, opts pipeline.Options) *scheduler.Scheduler {
	t.Helper()
	p, err := pipeline.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Open(t.Context())
	// Close has a deadline of its own: a cancelled context, as at
	// shutdown, must not stop the flush.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	t.Cleanup(func() {
		if err := p.Close(cancelled); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := p.Scheduler(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sched
}

func TestDNISHMACKeyReachesThePublishedEvents(t *testing.T) {
	w := newWorld(t)
	w.cfg.Wolkvox.DailyQuota = 0
	w.cfg.Service.DNISHMACKey = secret.New(hmacKey)
	var logs bytes.Buffer
	sched := open(t, w.cfg, pipeline.Options{Logger: zerolog.New(&logs), Producer: schema.Producer{Name: "pipeline-test", Version: "0"}})
	start := time.Now().In(w.loc).Add(-24 * time.Hour).Truncate(time.Hour)
	if err := sched.Once(t.Context(), start); err != nil {
		t.Fatal(err)
	}

	reader, err := consume.NewReader(w.cfg.Kafka.Brokers, w.cfg.Kafka.Topic)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var records []consume.Record
	if err := reader.ReadToEnd(t.Context(), func(r consume.Record) { records = append(records, r) }); err != nil {
		t.Fatal(err)
	}
	published := map[string]bool{}
	for _, r := range records {
		if e, ok := r.Event.(*schema.DNISWindow); ok {
			published[e.DNIS] = true
		}
	}
	rows := w.sim.Rows(skill, start, start.Add(w.cfg.Schedule.Interval))
	if len(rows) == 0 || len(published) == 0 {
		t.Fatalf("the window has %d rows and %d DNIS were published: nothing to check", len(rows), len(published))
	}
	hasher := schema.NewDNISHasher(secret.New(hmacKey))
	for _, row := range rows {
		if !published[hasher.Hash(row.DNIS)] {
			t.Errorf("DNIS %s: its HMAC was not published", row.DNIS)
		}
		for _, r := range records {
			if bytes.Contains(r.Value, []byte(row.DNIS)) || strings.Contains(r.Key, row.DNIS) {
				t.Fatalf("record %d@%d carries the raw DNIS %s", r.Partition, r.Offset, row.DNIS)
			}
		}
	}
	if len(published) != len(rows) {
		t.Errorf("%d DNIS published for %d rows", len(published), len(rows))
	}
	if strings.Contains(logs.String(), hmacKey) {
		t.Error("the logs show DNIS_HMAC_KEY")
	}
}

func TestTheDailyQuotaReachesTheScheduler(t *testing.T) {
	w := newWorld(t)
	w.cfg.Wolkvox.DailyQuota = 100 // one skill every 5m calls 288 times a day
	sched := open(t, w.cfg, pipeline.Options{})
	// Run checks the quota before anything else; on a cancelled context,
	// a Run that lets the budget through returns at once instead.
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	var quota *scheduler.QuotaError
	if err := sched.Run(cancelled); !errors.As(err, &quota) {
		t.Fatalf("Run over the daily quota: %v, want a *scheduler.QuotaError", err)
	}
	if quota.Budget.DailyQuota != 100 || quota.Budget.CallsPerDay != 288 {
		t.Errorf("budget %s, want 288 calls of a daily quota of 100", quota.Budget)
	}
}

func TestNewReportsEveryProblemWithoutTheSecrets(t *testing.T) {
	cfg, err := config.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Wolkvox.Server = "0032"
	cfg.Wolkvox.Token = secret.New(token)
	cfg.Wolkvox.MaxAttempts = 0
	cfg.Kafka.Brokers = nil
	cfg.Schedule.SkillIDs = []string{skill}
	cfg.Schedule.Interval = 7 * time.Minute
	cfg.Service.ShutdownTimeout = 0
	cfg.Service.DNISHMACKey = secret.New(hmacKey)

	p, err := pipeline.New(cfg, pipeline.Options{})
	if p != nil || err == nil {
		t.Fatalf("New = %v, %v; want an error", p, err)
	}
	for _, want := range []string{"WOLKVOX_MAX_ATTEMPTS=0", "KAFKA_BROKERS", "INTERVAL=7m0s", "SHUTDOWN_TIMEOUT=0s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s:\n%v", want, err)
		}
	}
	var ce *scheduler.ConfigError
	if !errors.As(err, &ce) {
		t.Errorf("the schedule's problem is not a *scheduler.ConfigError: %v", err)
	}
	for _, s := range []string{token, hmacKey} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("the error shows a secret: %v", err)
		}
	}
}

// once runs Once of the window at start on the pipeline of cfg, then
// closes it, as the command does.
func once(t *testing.T, cfg config.Config, opts pipeline.Options, start time.Time) {
	t.Helper()
	p, err := pipeline.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Close(t.Context()); err != nil {
			t.Error(err)
		}
	}()
	if err := p.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	sched, err := p.Scheduler(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Once(t.Context(), start); err != nil {
		t.Fatal(err)
	}
}

// countEvents reads the events topic of cfg to its end with a second client.
func countEvents(t *testing.T, cfg config.Config) int {
	t.Helper()
	reader, err := consume.NewReader(cfg.Kafka.Brokers, cfg.Kafka.Topic)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	n := 0
	if err := reader.ReadToEnd(t.Context(), func(consume.Record) { n++ }); err != nil {
		t.Fatal(err)
	}
	return n
}

// An upgrade from the directory store: the state directory of the last
// version is taken over into the state topic at the first start, logged
// file by file, and from then on the directory can go: a window published
// before the upgrade is not published again, whatever the directory holds.
func TestTheStateDirectoryIsTakenOverIntoTheStateTopic(t *testing.T) {
	w := newWorld(t)
	w.cfg.Wolkvox.DailyQuota = 0
	start := time.Now().In(w.loc).Add(-24 * time.Hour).Truncate(time.Hour)

	before := w.cfg
	before.Service.StateStore = config.StateStoreDir
	once(t, before, pipeline.Options{}, start)
	published := countEvents(t, w.cfg)

	var logs bytes.Buffer
	once(t, w.cfg, pipeline.Options{Logger: zerolog.New(&logs)}, start)
	if !strings.Contains(logs.String(), "took the state file over into the state topic") || !strings.Contains(logs.String(), `"skill":"3"`) {
		t.Errorf("the take-over is not logged:\n%s", logs.String())
	}
	// The directory goes: the topic alone knows the window was published.
	if err := os.RemoveAll(w.cfg.Service.StateDir); err != nil {
		t.Fatal(err)
	}
	once(t, w.cfg, pipeline.Options{}, start)
	if got := countEvents(t, w.cfg); got != published {
		t.Errorf("%d records after the upgrade, %d before: a published window went out again", got, published)
	}
}

// Without KAFKA_CREATE_TOPICS the state topic must exist, compacted: the
// start fails with what to do, naming the topic.
func TestAMissingStateTopicStopsTheStart(t *testing.T) {
	w := newWorld(t)
	// The topics of the events exist (their check comes first); the state
	// topic does not.
	events := w.cfg
	events.Service.StateStore = config.StateStoreDir
	open(t, events, pipeline.Options{})
	w.cfg.Kafka.CreateTopics = false
	w.cfg.Service.StateDir = t.TempDir()
	p, err := pipeline.New(w.cfg, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(t.Context())
	err = p.Open(t.Context())
	var te *kafkastore.TopicError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), w.cfg.StateTopic()) || !strings.Contains(err.Error(), "KAFKA_CREATE_TOPICS=true") {
		t.Fatalf("Open without the state topic: %v", err)
	}
}
