// Command skill6pub polls wolkvox's "Calls and service level by DNIS" report
// (skill_6) every interval and publishes per-DNIS service-level events to
// Kafka. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/metrics"
)

// version is stamped at build time with -ldflags "-X main.version=...";
// unstamped, the version comes from Go's build information
// (metrics.BuildVersion).
var version string

// command is one subcommand of skill6pub.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "poll wolkvox and publish every window (the daemon; default)", runDaemon},
		{"once", "publish the latest complete window (or --window) and exit", runOnce},
		{"backfill", "publish historical windows --from --to, in order, resumable; leaves out those already published", runBackfill},
		{"simulate", "serve the wolkvox simulator over HTTP", runSimulate},
		{"demo", "simulator + in-process Kafka + the real pipeline, printing what arrives", runDemo},
		{"schema", "print the JSON Schema of the events", runSchema},
		{"asyncapi", "print the AsyncAPI 3.0 document of every topic", runAsyncAPI},
		{"healthcheck", "ask the running service's ops server whether it is alive (--ready: ready)", runHealthcheck},
		{"version", "print the version", runVersion},
	}
}

// errUsage marks an error in the command line; main exits 2 for it.
var errUsage = errors.New("usage")

func main() {
	// Durations in logs read like the settings that set them (5m0s, not
	// 300000), in JSON and console alike. zerolog keeps the format in a
	// global: set once, here, before any logger exists.
	zerolog.DurationFieldFormat = zerolog.DurationFormatString
	ctx, stop := stopOnSignals()
	defer stop()
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	// One problem per line (configuration errors come joined), each
	// prefixed so that it stands out among the log lines.
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(os.Stderr, "skill6pub:", line)
	}
	if errors.Is(err, errUsage) {
		os.Exit(2)
	}
	os.Exit(1)
}

// stopOnSignals returns a context that the first SIGINT or SIGTERM
// cancels: the command finishes its window in flight under
// SHUTDOWN_TIMEOUT. A second signal ends the process at once, killed by
// that signal, however soon it follows the first: both are queued, so
// none is lost between the two. stop releases the signals.
func stopOnSignals() (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-signals:
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-signals:
			// The default action, so that the exit status says which
			// signal ended the process.
			signal.Reset(sig)
			_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(done)
		cancel()
	}
}

// dispatch runs the subcommand named by args[0], "run" when there is none.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name := "run"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	switch name {
	case "-h", "-help", "--help", "help":
		return printHelp(stdout)
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args, stdout, stderr)
		}
	}
	return fmt.Errorf("%w: unknown command %q (see skill6pub --help)", errUsage, name)
}

func printHelp(w io.Writer) error {
	fmt.Fprintln(w, "skill6pub publishes wolkvox skill_6 (calls and service level by DNIS) to Kafka.")
	fmt.Fprintln(w, "\nUsage: skill6pub [command] [flags]   (each command takes -h)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEnvironment:")
	return config.PrintUsage(w)
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version   (prints the version; also skill6pub --version)", stderr)
	if helped, err := parseFlags(fs, args); helped || err != nil {
		return err
	}
	v, _, _ := metrics.BuildVersion(version)
	_, err := fmt.Fprintln(stdout, "skill6pub", v)
	return err
}
