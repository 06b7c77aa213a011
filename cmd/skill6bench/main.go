// Command skill6bench measures skill6pub end to end and prints one table:
// the real pipeline (fetch client, scheduler, diff, producer, state
// directory) runs in this process against the wolkvox simulator over
// loopback HTTP and an in-process Kafka-protocol broker on loopback.
//
//	go run ./cmd/skill6bench
//
// The figures, all from the same run:
//  1. window latency, from the window's due time to Kafka's acknowledgement
//     of its window_closed, for windows of about 1,000, 10,000 and 100,000
//     rows, each diffed against a previous window of the same size;
//  2. the throughput of those windows in events per second, next to the
//     ceiling: kafka-go's writer, with the producer's settings, publishing
//     the same messages already encoded;
//  3. a backfill (a day of 288 windows of five skills by default) with the
//     simulator answering each call after a fixed latency (50 ms by
//     default), against the API bound: calls x latency, as one token allows
//     one call at a time;
//  4. the peak resident memory of a child process of this program that runs
//     the pipeline over a 100,000-row window;
//  5. decode, diff and encode of a 100,000-row window alone, with
//     allocations.
//
// Times are medians of -repeat runs. Nothing here asserts a time: the
// figures are for BENCHMARKS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "skill6bench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	rows            []int
	repeat          int
	backfillWindows int
	backfillSkills  int
	latency         time.Duration
	rssRows         int
	stageRows       int
	figures         map[int]bool
	cpuProfile      string

	// The child process of figure 4.
	child   bool
	simURL  string
	brokers string
	window  string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("skill6bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	rows := fs.String("rows", "1000,10000,100000", "figures 1 and 2: rows per window, comma-separated")
	figures := fs.String("figures", "1,2,3,4,5", "figures to measure (1 and 2 come from the same runs)")
	fs.IntVar(&o.repeat, "repeat", 3, "figures 1 and 2: runs per window size (the table shows medians)")
	fs.IntVar(&o.backfillWindows, "backfill-windows", 288, "figure 3: windows per skill (288: a day of 5-minute windows)")
	fs.IntVar(&o.backfillSkills, "backfill-skills", 5, "figure 3: skills")
	fs.DurationVar(&o.latency, "latency", 50*time.Millisecond, "figure 3: the simulator's latency per call")
	fs.IntVar(&o.rssRows, "rss-rows", 100000, "figure 4: rows of the window")
	fs.IntVar(&o.stageRows, "stage-rows", 100000, "figure 5: rows of the window")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (not of figure 4's child) to this file")
	fs.BoolVar(&o.child, childFlag, false, "internal: be figure 4's child process")
	fs.StringVar(&o.simURL, "sim-url", "", "internal: the simulator's URL (child process)")
	fs.StringVar(&o.brokers, "brokers", "", "internal: the broker addresses (child process)")
	fs.StringVar(&o.window, "window", "", "internal: the window to publish, RFC 3339 (child process)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.rows, err = parseInts(*rows); err != nil {
		return o, fmt.Errorf("-rows: %w", err)
	}
	o.figures = map[int]bool{}
	ids, err := parseInts(*figures)
	if err != nil {
		return o, fmt.Errorf("-figures: %w", err)
	}
	for _, id := range ids {
		if id > 5 {
			return o, fmt.Errorf("-figures: no figure %d", id)
		}
		o.figures[id] = true
	}
	if o.repeat < 1 || o.backfillWindows < 1 || o.backfillSkills < 1 || o.latency < 0 || o.rssRows < 1 || o.stageRows < 1 {
		return o, errors.New("-repeat, -backfill-windows, -backfill-skills, -rss-rows and -stage-rows must be positive, -latency not negative")
	}
	return o, nil
}

func parseInts(list string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		return err
	}
	if o.child {
		window, err := time.Parse(time.RFC3339, o.window)
		if err != nil {
			return fmt.Errorf("-window: %w", err)
		}
		return runChild(ctx, o.simURL, o.brokers, window, stdout)
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	h, err := newHarness(loc)
	if err != nil {
		return err
	}
	defer h.close()
	t, err := measure(ctx, o, h, loc, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "skill6bench: %d CPUs (GOMAXPROCS %d), %s, %s/%s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	t.print(stdout)
	return nil
}

// firstWindow is where the windows of the run start: a past day, so that
// the simulator serves every window whole.
func firstWindow(loc *time.Location) time.Time { return time.Date(2025, 3, 10, 8, 0, 0, 0, loc) }

// measure measures the figures o asks for and returns the table.
func measure(ctx context.Context, o options, h *harness, loc *time.Location, progress io.Writer) (*table, error) {
	t := &table{}
	next := firstWindow(loc)
	// nextWindow returns a window not used before in this run, an hour
	// after the last one.
	nextWindow := func() time.Time {
		next = next.Add(time.Hour)
		return next
	}
	if o.figures[1] || o.figures[2] {
		for _, rows := range o.rows {
			runs := make([]windowResult, o.repeat)
			h.sim.Update(func(c *wolkvoxsim.Config) { c.CallersPerWindow = float64(rows) })
			for i := range runs {
				fmt.Fprintf(progress, "window of %d rows, run %d of %d\n", rows, i+1, o.repeat)
				var err error
				before := h.records()
				if runs[i], err = measureWindow(ctx, h.simURL, h.brokers, nextWindow(), o.figures[2]); err != nil {
					return nil, fmt.Errorf("window of %d rows: %w", rows, err)
				}
				if got := h.records() - before; got != runs[i].records {
					return nil, fmt.Errorf("window of %d rows: the broker acknowledged %d records, want %d", rows, got, runs[i].records)
				}
			}
			t.window(rows, runs, o.figures[1], o.figures[2])
		}
	}
	if o.figures[4] {
		fmt.Fprintf(progress, "peak RSS of a %d-row window, in a child process\n", o.rssRows)
		r, err := measureRSS(ctx, h, nextWindow(), o.rssRows)
		if err != nil {
			return nil, err
		}
		t.rss(o.rssRows, r)
	}
	if o.figures[3] {
		fmt.Fprintf(progress, "backfill of %d windows x %d skills, %s per call\n", o.backfillWindows, o.backfillSkills, o.latency)
		r, err := measureBackfill(ctx, h, nextWindow().AddDate(0, 0, 1).Truncate(24*time.Hour), o.backfillWindows, o.backfillSkills, o.latency)
		if err != nil {
			return nil, err
		}
		t.backfill(o.latency, r)
	}
	if o.figures[5] {
		fmt.Fprintf(progress, "decode, diff and encode of a %d-row window\n", o.stageRows)
		w := nextWindow()
		stages, err := measureStages(w, w.Add(-5*time.Minute), loc, o.stageRows)
		if err != nil {
			return nil, err
		}
		t.stages(stages)
	}
	return t, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
