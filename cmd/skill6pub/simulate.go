package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

// runSimulate serves the wolkvox simulator until ctx ends.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return simulate(ctx, args, os.Getenv, stdout, stderr)
}

// simulateShutdown bounds how long the simulator waits for requests in
// flight when it stops.
const simulateShutdown = 5 * time.Second

// simulate is runSimulate with the environment passed in, for tests.
func simulate(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors go back to main; -h prints to stdout
	f := envFlags{fs: fs, getenv: getenv}
	addr := f.str("addr", "SIM_ADDR", "127.0.0.1:8089", "address to listen on")
	token := f.str("token", "SIM_TOKEN", getenv("WOLKVOX_TOKEN"), "wolkvox-token that requests must carry; empty accepts any (default: WOLKVOX_TOKEN)")
	seed := f.int64("seed", "SIM_SEED", 1, "seed of the data set")
	zone := f.str("tz", "WOLKVOX_TIMEZONE", "America/Bogota", "IANA time zone in which dates are read")
	skills := f.str("skills", "SIM_SKILLS", "1,2,3", "comma-separated skills that skill_id=all covers")
	callers := f.float("callers", "SIM_CALLERS_PER_WINDOW", 40, "mean callers (rows) per skill per 5 minutes")
	population := f.int64("population", "SIM_POPULATION", 2000, "regular callers who come back across windows")
	latency := f.duration("latency", "SIM_LATENCY", 0, "added to every answer")
	errorRate := f.float("error-rate", "SIM_ERROR_RATE", 0, "share of answers that are HTTP 500 (0-1)")
	malformedRate := f.float("malformed-rate", "SIM_MALFORMED_RATE", 0, "share of answers with a malformed body (0-1)")
	lateData := f.duration("late-data", "SIM_LATE_DATA", 0, "mean delay before a call shows in the report (a recent window grows when fetched again)")
	quota := f.int64("quota", "SIM_DAILY_QUOTA", 0, "calls per day before 403 TOKEN LIMIT EXCEEDED (0: none)")
	plain := f.boolean("plain-numbers", "SIM_PLAIN_NUMBERS", false, `send "28.81" and "76" instead of "28.81 %" and "00:01:16"`)
	emptyAs200 := f.boolean("empty-as-200", "SIM_EMPTY_AS_200", false, `answer a window without calls with 200 and "data":[] instead of 404 "Validate dates entered"`)
	if err := errors.Join(f.errs...); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: skill6pub simulate [flags]\n\nServes a wolkvox skill_6 simulator over HTTP. Each flag defaults to the environment variable named with it.")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("%w: simulate: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: simulate takes no arguments: %q", errUsage, fs.Args())
	}
	loc, err := time.LoadLocation(*zone)
	if err != nil {
		return fmt.Errorf("simulate: time zone %q: %w", *zone, err)
	}

	sim := wolkvoxsim.New(wolkvoxsim.Config{
		Token:            *token,
		Seed:             *seed,
		Location:         loc,
		AllSkills:        strings.Split(*skills, ","),
		CallersPerWindow: *callers,
		Population:       int(*population),
		Latency:          *latency,
		ErrorRate:        *errorRate,
		MalformedRate:    *malformedRate,
		LateData:         *lateData,
		DailyQuota:       int(*quota),
		PlainNumbers:     *plain,
		EmptyAs200:       *emptyAs200,
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	// Requests hang on this context (FaultHang), so that stopping ends them.
	base, stopRequests := context.WithCancel(context.Background())
	defer stopRequests()
	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	url := "http://" + reachable(ln.Addr())
	tokenNote := "requests must carry the token of -token or SIM_TOKEN"
	if *token == "" {
		tokenNote = "any non-empty wolkvox-token is accepted"
	}
	fmt.Fprintf(stdout, "wolkvox simulator listening on %s (seed %d, %s, %s)\nWOLKVOX_BASE_URL=%s\n",
		url, *seed, loc, tokenNote, wolkvoxsim.URL(url))

	select {
	case err := <-served:
		return fmt.Errorf("simulate: %w", err)
	case <-ctx.Done():
	}
	stopRequests()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), simulateShutdown)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("simulate: stopping: %w", err)
	}
	<-served
	return nil
}

// reachable is addr with a loopback host where it listens on all of them.
func reachable(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// envFlags defines flags whose defaults come from environment variables,
// named in each flag's usage. A variable that does not parse is an error.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

func (f *envFlags) usage(env, usage string) string { return usage + " [" + env + "]" }

// lookup parses the variable env with parse when it is set.
func lookup[T any](f *envFlags, env string, def T, parse func(string) (T, error)) T {
	s := f.getenv(env)
	if s == "" {
		return def
	}
	v, err := parse(s)
	if err != nil {
		f.errs = append(f.errs, fmt.Errorf("%w: %s=%q: %v", errUsage, env, s, err))
		return def
	}
	return v
}

func (f *envFlags) str(name, env, def, usage string) *string {
	return f.fs.String(name, lookup(f, env, def, func(s string) (string, error) { return s, nil }), f.usage(env, usage))
}

func (f *envFlags) int64(name, env string, def int64, usage string) *int64 {
	return f.fs.Int64(name, lookup(f, env, def, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }), f.usage(env, usage))
}

func (f *envFlags) float(name, env string, def float64, usage string) *float64 {
	return f.fs.Float64(name, lookup(f, env, def, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }), f.usage(env, usage))
}

func (f *envFlags) duration(name, env string, def time.Duration, usage string) *time.Duration {
	return f.fs.Duration(name, lookup(f, env, def, time.ParseDuration), f.usage(env, usage))
}

func (f *envFlags) boolean(name, env string, def bool, usage string) *bool {
	return f.fs.Bool(name, lookup(f, env, def, strconv.ParseBool), f.usage(env, usage))
}
