package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/ops"
)

// newFlagSet returns a flag set that prints the command's usage line after
// a mistyped flag; parseFlags adds its flags and every environment variable
// with its default for -h.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, "Usage: skill6pub %s\n", synopsis) }
	return fs
}

// printCommandHelp writes, after the usage line, the command's flags and
// every environment variable with its default.
func printCommandHelp(fs *flag.FlagSet) {
	w := fs.Output()
	if hasFlags(fs) {
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
	fmt.Fprintln(w, "\nEnvironment:")
	_ = config.PrintUsage(w)
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseFlags parses args; -h is not an error, a bad flag is a usage error
// after the usage line (the 46 variables would bury it).
func parseFlags(fs *flag.FlagSet, args []string) (helped bool, err error) {
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		printCommandHelp(fs)
		return true, nil
	case err != nil:
		fmt.Fprintf(fs.Output(), "(skill6pub %s -h lists its flags and every environment variable)\n", fs.Name())
		return false, fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return false, nil
}

// runDaemon is `skill6pub run`: poll and publish until SIGINT or SIGTERM.
func runDaemon(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("run", "run   (the daemon; configured by the environment)", stderr)
	if helped, err := parseFlags(fs, args); helped || err != nil {
		return err
	}
	svc, err := loadService(stderr)
	if err != nil {
		return err
	}
	return svc.runDaemon(ctx)
}

// runDaemon runs the scheduler (while this replica is the active one) and
// the ops server until ctx ends, then finishes the window in flight, leaves
// the group of replicas, flushes the producer and closes the state store,
// all under SHUTDOWN_TIMEOUT.
func (s *service) runDaemon(ctx context.Context) (err error) {
	if err := s.open(ctx); err != nil {
		return errors.Join(err, s.close(ctx))
	}
	defer func() { err = errors.Join(err, s.close(ctx)) }()
	budget := s.scheduler.Budget()
	s.log.Info().Str("version", s.version).Strs("skills", s.cfg.Schedule.SkillIDs).
		Dur("interval", s.cfg.Schedule.Interval).Str("budget", budget.String()).Msg("skill6pub starting")

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.publish(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		if ctx.Err() != nil {
			s.log.Info().Dur("shutdown_timeout", s.cfg.Service.ShutdownTimeout).
				Msg("shutting down: finishing the window in flight, then flushing (a second signal exits at once)")
		}
		return nil
	})
	switch {
	case s.opsListener != nil:
		srv := ops.New(s.opsListener.Addr().String(), s.registry, s.ready, s.log)
		g.Go(func() error { return srv.Serve(gctx, s.opsListener) })
	case s.cfg.Service.HTTPAddr != "":
		srv := ops.New(s.cfg.Service.HTTPAddr, s.registry, s.ready, s.log)
		g.Go(func() error { return srv.Run(gctx) })
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	s.log.Info().Msg("skill6pub stopped")
	return nil
}

// runOnce is `skill6pub once`: one window for every skill, then exit 0 only
// when all of them were published.
func runOnce(ctx context.Context, args []string, _, stderr io.Writer) (err error) {
	fs := newFlagSet("once", "once [--window TIME]", stderr)
	window := fs.String("window", "", "a time inside the window to publish (RFC 3339, or 2006-01-02T15:04 in WOLKVOX_TIMEZONE); default: the latest complete window")
	if helped, err := parseFlags(fs, args); helped || err != nil {
		return err
	}
	svc, err := loadService(stderr)
	if err != nil {
		return err
	}
	var at time.Time
	if *window != "" {
		if at, err = parseTime(*window, svc.pipeline.Fetcher.Location()); err != nil {
			return fmt.Errorf("%w: once --window: %v", errUsage, err)
		}
	}
	if err := svc.open(ctx); err != nil {
		return errors.Join(err, svc.close(ctx))
	}
	defer func() { err = errors.Join(err, svc.close(ctx)) }()
	return svc.scheduler.Once(ctx, at)
}

// timeLayouts are the forms --window, --from and --to accept, besides
// RFC 3339; they are read in the operation's time zone.
var timeLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-23T10:00:00-05:00) or 2026-11-23T10:00 in WOLKVOX_TIMEZONE", s)
}
