// Command runner serves the consumer recipes of examples/ a stream to read,
// as .ci/run does (examples/run-recipes.sh): the wolkvox simulator, an
// in-process Kafka-protocol broker (kfake) and the real skill6pub binary, a
// child process on an accelerated clock, publish -windows windows per
// skill, and the table topic with them. The runner then publishes one
// window again (a duplicate, as at-least-once delivery may), and writes
// what each recipe must print,
// computed from the simulator's own data, into -out. It writes
// KAFKA_BROKERS to -out/env once all is ready and serves the broker until
// SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
)

const (
	topic      = "wolkvox.skill6.dnis-service-level"
	partitions = 3
	token      = "recipes-token" // the simulator's, on loopback: no secret
)

type options struct {
	binary  string
	out     string
	windows int
	skills  []string
	start   time.Time
	speed   float64
}

func main() {
	var opts options
	var skills, start string
	flag.StringVar(&opts.binary, "skill6pub", "", "path of the skill6pub binary to run")
	flag.StringVar(&opts.out, "out", "", "directory for env and the recipes' expected outputs")
	flag.IntVar(&opts.windows, "windows", 30, "windows per skill to publish")
	flag.StringVar(&skills, "skills", "3,7", "skills to poll")
	// Late on 2 March, so that the windows span two days.
	flag.StringVar(&start, "start", "2026-03-02T22:56:00-05:00", "RFC 3339 time the service's clock starts at")
	flag.Float64Var(&opts.speed, "speed", 1200, "how many times faster than real time the service's clock runs")
	flag.Parse()
	var err error
	if opts.start, err = time.Parse(time.RFC3339, start); err != nil || opts.binary == "" || opts.out == "" || opts.windows < 2 {
		fmt.Fprintln(os.Stderr, "runner: -skill6pub and -out are required, -start is RFC 3339, -windows at least 2")
		os.Exit(2)
	}
	opts.skills = strings.Split(skills, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts options) error {
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		return err
	}
	// The simulator's clock is the real one: every call of the service's
	// (accelerated, past) windows has happened, so what it serves is what
	// wolkvoxsim.Rows says, whenever the service asks.
	simCfg := wolkvoxsim.Config{Token: token, Seed: 16, Location: loc, CallersPerWindow: 25, Population: 120}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("simulator listener: %w", err)
	}
	sim := &http.Server{Handler: wolkvoxsim.New(simCfg), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = sim.Serve(simLn) }()
	defer sim.Close()

	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic+".summary"))
	if err != nil {
		return fmt.Errorf("in-process Kafka: %w", err)
	}
	defer broker.Close()
	brokers := broker.ListenAddrs()

	if err := publishWindows(ctx, opts, "http://"+simLn.Addr().String(), brokers); err != nil {
		return err
	}
	stream, err := readStream(ctx, brokers)
	if err != nil {
		return err
	}
	if err := publishDuplicate(ctx, brokers, stream); err != nil {
		return err
	}
	if err := writeExpected(opts.out, simCfg, stream); err != nil {
		return err
	}
	env := fmt.Sprintf("KAFKA_BROKERS=%s\nKAFKA_TOPIC=%s\n", strings.Join(brokers, ","), topic)
	if err := os.WriteFile(filepath.Join(opts.out, "env"), []byte(env), 0o644); err != nil {
		return err
	}
	fmt.Printf("runner: %d windows published, broker at %s; serving until SIGTERM\n", len(stream.windows), brokers[0])
	<-ctx.Done()
	return nil
}

// publishWindows runs the skill6pub binary until it has published
// opts.windows complete windows per skill, then stops it with SIGTERM (it
// finishes the window in flight).
func publishWindows(ctx context.Context, opts options, simURL string, brokers []string) error {
	stateDir, err := os.MkdirTemp("", "skill6pub-recipes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stateDir)
	child := exec.Command(opts.binary, "run")
	child.Env = append(os.Environ(),
		"WOLKVOX_SERVER=0032", "WOLKVOX_BASE_URL="+wolkvoxsim.URL(simURL), "WOLKVOX_TOKEN="+token,
		"WOLKVOX_DAILY_QUOTA=0", "SKILL_IDS="+strings.Join(opts.skills, ","),
		"KAFKA_BROKERS="+strings.Join(brokers, ","), "KAFKA_TOPIC="+topic, "KAFKA_CREATE_TOPICS=true",
		fmt.Sprintf("KAFKA_TOPIC_PARTITIONS=%d", partitions), "KAFKA_TOPIC_REPLICATION_FACTOR=1",
		"STATE_DIR="+stateDir, "HTTP_ADDR=", "LOG_LEVEL=warn",
		fmt.Sprintf("CLOCK_SPEED=%g", opts.speed), "CLOCK_START="+opts.start.Format(time.RFC3339))
	child.Stdout, child.Stderr = os.Stderr, os.Stderr
	if err := child.Start(); err != nil {
		return fmt.Errorf("start %s: %w", opts.binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()

	reader, err := consume.NewReader(brokers, topic)
	if err != nil {
		return err
	}
	defer reader.Close()
	ledger := consume.NewLedger()
	pollCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for complete(ledger, opts.skills) < opts.windows {
		records, err := reader.Poll(pollCtx)
		if err != nil {
			_ = child.Process.Kill()
			return fmt.Errorf("waiting for %d windows per skill: %w", opts.windows, err)
		}
		for _, r := range records {
			ledger.Add(r)
		}
	}
	_ = child.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("skill6pub: %w", err)
		}
	case <-time.After(time.Minute):
		_ = child.Process.Kill()
		return errors.New("skill6pub did not stop within a minute of SIGTERM")
	}
	return nil
}

// complete is the fewest complete windows of revision 0 among skills.
func complete(ledger *consume.Ledger, skills []string) int {
	per := map[string]int{}
	for _, t := range ledger.Closed() {
		if t.Key.Revision == 0 && t.Complete() {
			per[t.Key.SkillID]++
		}
	}
	fewest := -1
	for _, s := range skills {
		if fewest < 0 || per[s] < fewest {
			fewest = per[s]
		}
	}
	return fewest
}

// window is one published window (and revision) of one skill: its events
// in the order they were read, the window_closed last.
type window struct {
	skill      string
	start, end time.Time
	revision   int
	events     []schema.Event
}

// stream is what the service published, read back with franz-go.
type stream struct {
	windows []*window // in the order their window_closed was stored
}

// readStream reads the events topic to its end and groups the events by
// window and revision.
func readStream(ctx context.Context, brokers []string) (stream, error) {
	reader, err := consume.NewReader(brokers, topic)
	if err != nil {
		return stream{}, err
	}
	defer reader.Close()
	byKey := map[consume.WindowKey]*window{}
	var order []*window
	var closed []consume.Record
	readCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = reader.ReadToEnd(readCtx, func(r consume.Record) {
		h := r.Event.Head()
		k := consume.KeyOf(h)
		w := byKey[k]
		if w == nil {
			w = &window{skill: h.SkillID, start: h.WindowStart, end: h.WindowEnd, revision: h.Revision}
			byKey[k] = w
		}
		if h.EventType == schema.TypeWindowClosed {
			closed = append(closed, r)
			order = append(order, w)
			return
		}
		w.events = append(w.events, r.Event)
	})
	if err != nil {
		return stream{}, err
	}
	// One partition holds a skill's window_closed records, in publish
	// order: their offsets order that skill's windows.
	for i, r := range closed {
		w := order[i]
		w.events = append(w.events, r.Event)
	}
	return stream{windows: order}, nil
}

// publishDuplicate publishes one window of the first skill again, a
// duplicate.
func publishDuplicate(ctx context.Context, brokers []string, s stream) error {
	p, err := producer.New(producer.Config{
		Brokers: brokers, Topic: topic, ClientID: "skill6pub-recipes", Compression: "none",
		WriteTimeout: 30 * time.Second, RequestTimeout: 10 * time.Second, BatchBytes: 1 << 20,
		CreateTopics: true, TopicPartitions: partitions, TopicReplication: 1,
	})
	if err != nil {
		return err
	}
	defer p.Close(context.WithoutCancel(ctx))
	if err := p.Bootstrap(ctx); err != nil {
		return err
	}
	dup := s.duplicated()
	if err := p.Publish(ctx, schema.EventSlice(dup.events), nil); err != nil {
		return fmt.Errorf("publish again %s %s: %w", dup.skill, dup.start, err)
	}
	return nil
}

// duplicated is the window the runner publishes twice: the second one.
func (s stream) duplicated() *window { return s.windows[1] }
