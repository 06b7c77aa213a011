package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
)

// demoToken is the token the demo's simulator expects. It is not a secret:
// the simulator runs in the same process and listens on loopback only.
const demoToken = "demo-token"

// demoOptions are the flags of `skill6pub demo`.
type demoOptions struct {
	windows  int
	skills   []string
	speed    float64
	callers  float64
	logLevel string
}

// runDemo is `skill6pub demo`: the simulator, an in-process Kafka-protocol
// broker and the real pipeline on an accelerated clock, printing what
// arrives on the topic window by window.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "demo [--windows 12] [--speed 150]", stderr)
	opts := demoOptions{skills: []string{"3", "7"}}
	fs.IntVar(&opts.windows, "windows", 12, "windows per skill to publish before stopping")
	fs.Float64Var(&opts.speed, "speed", 150, "how many times faster than real time the clock runs (150: a 5-minute window every 2 s)")
	fs.Float64Var(&opts.callers, "callers", 40, "mean callers (DNIS rows) per skill and window")
	fs.StringVar(&opts.logLevel, "log-level", "warn", "level of the pipeline's log lines on stderr")
	if helped, err := parseFlags(fs, args); helped || err != nil {
		return err
	}
	if opts.windows < 1 || opts.speed <= 0 || opts.callers <= 0 {
		return fmt.Errorf("%w: demo: --windows, --speed and --callers must be positive", errUsage)
	}
	return demo(ctx, opts, stdout, stderr)
}

func demo(ctx context.Context, opts demoOptions, stdout, stderr io.Writer) (err error) {
	cfg, err := config.Defaults()
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(cfg.Wolkvox.TimeZone)
	if err != nil {
		return err
	}
	// Start the clock one second before a window boundary so that the first
	// window comes due (after SETTLE_DELAY) at once and the rest follow at
	// the accelerated pace.
	start := time.Now().In(loc).Truncate(cfg.Schedule.Interval).Add(cfg.Schedule.SettleDelay - time.Second)
	clk := clock.NewAccelerated(start, opts.speed)

	sim := wolkvoxsim.New(wolkvoxsim.Config{Token: demoToken, Seed: 6, Location: loc, Clock: clk, CallersPerWindow: opts.callers, Population: 150})
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: simulator listener: %w", err)
	}
	simSrv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close()

	broker, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return fmt.Errorf("demo: in-process Kafka: %w", err)
	}
	defer broker.Close()

	cfg.Wolkvox.Server = "0032"
	cfg.Wolkvox.BaseURL = wolkvoxsim.URL("http://" + simLn.Addr().String())
	cfg.Wolkvox.Token = secret.New(demoToken)
	cfg.Wolkvox.DailyQuota = 0 // the accelerated clock spends a day's quota in minutes
	cfg.Schedule.SkillIDs = opts.skills
	cfg.Kafka.Brokers = broker.ListenAddrs()
	cfg.Kafka.CreateTopics = true
	cfg.Kafka.TopicPartitions = 3
	cfg.Kafka.TopicReplication = 1
	// The record is the state topic on the in-process broker, as in
	// production: nothing on local disk.
	cfg.Service.StateStore = config.StateStoreKafka
	cfg.Service.StateDir = ""
	cfg.Service.HTTPAddr = ""
	cfg.Service.LogFormat = "console"
	cfg.Service.LogLevel = opts.logLevel

	log, err := newLogger(cfg.Service.LogLevel, cfg.Service.LogFormat, stderr)
	if err != nil {
		return err
	}
	svc, err := newService(cfg, log)
	if err != nil {
		return err
	}
	svc.clock = clk
	// The ops server on a free port, so that the demo shows /metrics and
	// /readyz too without taking :8080 from anything.
	if svc.opsListener, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return fmt.Errorf("demo: ops server listener: %w", err)
	}

	// Every line fits an 80-column terminal.
	fmt.Fprintln(stdout, "skill6pub demo")
	fmt.Fprintf(stdout, "  wolkvox simulator  %s\n", cfg.Wolkvox.BaseURL)
	fmt.Fprintf(stdout, "  Kafka, in-process  %s\n", broker.ListenAddrs()[0])
	fmt.Fprintf(stdout, "  topic              %s\n", cfg.Kafka.Topic)
	fmt.Fprintf(stdout, "  state topic        %s\n", cfg.StateTopic())
	fmt.Fprintf(stdout, "  metrics            http://%s/metrics\n", svc.opsListener.Addr())
	fmt.Fprintf(stdout, "  skills %s, %s windows (%s), clock x%g, %d windows each\n\n",
		strings.Join(opts.skills, ","), cfg.Schedule.Interval, loc, opts.speed, opts.windows)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- svc.runDaemon(runCtx) }()

	reader, err := consume.NewReader(cfg.Kafka.Brokers, cfg.Kafka.Topic)
	if err != nil {
		return err
	}
	defer reader.Close()
	ledger := consume.NewLedger()
	watchErr := watchTopic(runCtx, reader, ledger, len(opts.skills)*opts.windows, stdout)
	stop()
	if runErr := <-done; runErr != nil {
		return fmt.Errorf("demo: pipeline: %w", runErr)
	}
	if watchErr != nil {
		if ctx.Err() != nil {
			return nil // interrupted by the user
		}
		return fmt.Errorf("demo: reading the topic back: %w", watchErr)
	}
	// The pipeline finished the window it had in flight when it stopped:
	// read up to the end so that the summary checks whole windows.
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := reader.ReadToEnd(drainCtx, ledger.Add); err != nil {
		return fmt.Errorf("demo: reading the topic back: %w", err)
	}
	return printSummary(stdout, ledger, sim.Stats())
}

// watchTopic reads the topic back with franz-go and prints a line per
// window as its window_closed arrives, until `windows` windows closed.
func watchTopic(ctx context.Context, reader *consume.Reader, ledger *consume.Ledger, windows int, stdout io.Writer) error {
	// 75 columns: the table fits an 80-column terminal.
	const row = "%5s  %6s  %5d  %4d  %4d  %5d  %4d  %4d  %6d  %6s  %6s\n"
	fmt.Fprintf(stdout, "%5s  %6s  %5s  %4s  %4s  %5s  %4s  %4s  %6s  %6s  %6s\n",
		"skill", "window", "rows", "new", "chg", "same", "gone", "rep", "calls", "SL20s%", "aband%")
	// A window_closed can be read before the DNIS events of its window that
	// sit on other partitions: a line is printed once the window is whole.
	printed := map[consume.WindowKey]bool{}
	for len(printed) < windows {
		records, err := reader.Poll(ctx)
		if err != nil {
			return err
		}
		for _, r := range records {
			ledger.Add(r)
		}
		for _, t := range ledger.Closed() {
			if printed[t.Key] || !t.Complete() {
				continue
			}
			printed[t.Key] = true
			c := t.Closed
			fmt.Fprintf(stdout, row, c.SkillID, c.WindowStart.Format("15:04"), c.RowCount, t.New, t.Changed, t.Unchanged,
				t.Gone, c.RepeatCallers, c.Totals.InboundCalls, pct(c.Totals.ServiceLevel20sPct), pct(c.Totals.AbandonPct))
		}
	}
	return nil
}

func pct(v schema.NullFloat) string {
	if !v.Valid {
		return "-"
	}
	return fmt.Sprintf("%.1f", v.Float)
}

func printSummary(stdout io.Writer, ledger *consume.Ledger, stats wolkvoxsim.Stats) error {
	closed := ledger.Closed()
	var rows, events int
	for _, t := range closed {
		rows += t.Closed.RowCount
		events += t.DNISEvents() + t.Gone + 1
	}
	fmt.Fprintf(stdout, "\nsummary: %d windows closed, %d DNIS rows, %d wolkvox calls\n", len(closed), rows, stats.Requests)
	fmt.Fprintf(stdout, "         %d events read back, %d duplicates\n", events, ledger.Duplicates)
	if problems := ledger.Problems(); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stdout, "problem:", p)
		}
		return errors.New("demo: the topic broke a promise (see above)")
	}
	fmt.Fprintln(stdout, "every window complete and consistent: each window_closed matches its events")
	return nil
}
