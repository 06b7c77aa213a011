package reliability

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/internal/syncbuf"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/secret"
)

const partitions = 3

// bogota is the operation's zone in these tests.
func bogota(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// world is one fault run's surroundings: wolkvox, Kafka, a state directory
// and the logs of every run of the service.
type world struct {
	t        testing.TB
	loc      *time.Location
	upstream *Upstream
	kafka    *Kafka
	stateDir string
	cfg      config.Config
	logs     *syncbuf.Buffer
	texts    []string // errors and metrics the runs produced, for the secrets check
}

// newWorld builds a world for skills with brokers brokers; simCfg tunes the
// simulator (Location and Clock are filled in).
func newWorld(t testing.TB, brokers int, simCfg wolkvoxsim.Config, skills ...string) *world {
	t.Helper()
	loc := bogota(t)
	simCfg.Location = loc
	cfg, err := config.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, loc: loc, stateDir: t.TempDir(), logs: &syncbuf.Buffer{}}
	w.upstream = NewUpstream(t, simCfg)
	topic := cfg.Kafka.Topic
	w.kafka = NewKafka(t, brokers, partitions, topic, topic+".dlq", topic+".table")

	cfg.Wolkvox.Server = "0032"
	cfg.Wolkvox.BaseURL = w.upstream.URL
	cfg.Wolkvox.Token = secret.New(Token)
	cfg.Wolkvox.DailyQuota = 0
	cfg.Wolkvox.Timeout = 2 * time.Second
	cfg.Wolkvox.MaxAttempts = 3
	cfg.Schedule.SkillIDs = skills
	cfg.Schedule.MaxCatchup = 1000 * time.Hour // a fault run must lose nothing to the catch-up horizon
	cfg.Kafka.Brokers = w.kafka.Addrs()
	cfg.Kafka.TopicPartitions = partitions
	cfg.Kafka.TopicReplication = 1
	cfg.Kafka.WriteTimeout = 5 * time.Second
	cfg.Kafka.RequestTimeout = time.Second
	cfg.Kafka.SASLMechanism = SASLMechanism
	cfg.Kafka.SASLUsername = SASLUser
	cfg.Kafka.SASLPassword = secret.New(SASLPassword)
	// The harness restarts the service on the same directory and kills it
	// at the directory's state-write failpoint. The state topic's faults
	// are state/kafkastore's tests and the binary's multi-process tests.
	cfg.Service.StateStore = config.StateStoreDir
	cfg.Service.StateDir = w.stateDir
	cfg.Service.HTTPAddr = ""
	cfg.Service.ShutdownTimeout = 5 * time.Second
	w.cfg = cfg
	return w
}

// calendar lays out the windows of w's configuration.
func (w *world) calendar() scheduler.Calendar {
	return scheduler.Calendar{Interval: w.cfg.Schedule.Interval, SettleDelay: w.cfg.Schedule.SettleDelay, Location: w.loc}
}

// setup is an in-process run of the service in w on clk.
func (w *world) setup(clk clock.Clock) Setup {
	return Setup{Config: w.cfg, Clock: clk, Log: zerolog.New(w.logs).Level(zerolog.DebugLevel).With().Timestamp().Logger()}
}

// run runs s and keeps its error and metrics for the secrets check.
func (w *world) run(ctx context.Context, s Setup) (Result, error) {
	res, err := Run(ctx, s)
	if err != nil {
		w.texts = append(w.texts, err.Error())
	}
	w.texts = append(w.texts, res.Metrics)
	return res, err
}

// checker reads w's topics back; inspect, when given, sees every record.
func (w *world) checker(t testing.TB, inspect ...func(consume.Record)) *Checker {
	t.Helper()
	c, err := NewChecker(w.kafka.Addrs(), w.cfg.Kafka.Topic, w.cfg.Kafka.Topic+".dlq", w.kafka.ClientOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for _, f := range inspect {
		c.Inspect = f
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// assertNoSecrets fails if the token or the SASL password shows in any log
// line, error or metric of w's runs.
func (w *world) assertNoSecrets(t testing.TB) {
	t.Helper()
	all := append([]string{w.logs.String()}, w.texts...)
	for _, text := range all {
		for _, s := range []string{Token, SASLPassword} {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("a secret leaked: ...%s...", text[max(0, i-200):min(len(text), i+len(s)+50)])
			}
		}
	}
}
