package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
)

// runBackfill is `skill6pub backfill --from --to [--skills]`.
func runBackfill(ctx context.Context, args []string, _, stderr io.Writer) (err error) {
	fs := newFlagSet("backfill", "backfill --from TIME --to TIME [--skills 3,7]", stderr)
	from := fs.String("from", "", "start of the range (RFC 3339, or 2006-01-02[T15:04] in WOLKVOX_TIMEZONE); required")
	to := fs.String("to", "", "end of the range, exclusive (same forms); required")
	skills := fs.String("skills", "", "comma-separated skill ids (default: SKILL_IDS)")
	if helped, err := parseFlags(fs, args); helped || err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return fmt.Errorf("%w: backfill needs --from and --to", errUsage)
	}
	svc, err := loadService(stderr)
	if err != nil {
		return err
	}
	loc := svc.pipeline.Fetcher.Location()
	start, err := parseTime(*from, loc)
	if err != nil {
		return fmt.Errorf("%w: backfill --from: %v", errUsage, err)
	}
	end, err := parseTime(*to, loc)
	if err != nil {
		return fmt.Errorf("%w: backfill --to: %v", errUsage, err)
	}
	if !end.After(start) {
		return fmt.Errorf("%w: backfill: --to (%s) must be after --from (%s)", errUsage, *to, *from)
	}
	var ids []string
	if *skills != "" {
		ids = strings.Split(*skills, ",")
	}
	if err := svc.open(ctx); err != nil {
		return errors.Join(err, svc.close(ctx))
	}
	defer func() { err = errors.Join(err, svc.close(ctx)) }()
	return svc.scheduler.Backfill(ctx, start, end, ids, newProgress(stderr, svc.log))
}

// newProgress shows a progress bar with an ETA on a terminal, and a log line
// every progressLogEvery otherwise (cron, Kubernetes jobs, CI).
func newProgress(w io.Writer, log zerolog.Logger) progress {
	if isTerminal(w) {
		return &barProgress{w: w}
	}
	return &logProgress{log: log, now: time.Now}
}

type progress interface {
	Start(total int)
	Advance(n int)
	Done()
}

// barProgress draws a progress bar.
type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) Start(total int) {
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("backfill"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("windows"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
}

func (p *barProgress) Advance(n int) { _ = p.bar.Add(n) }
func (p *barProgress) Done()         { _ = p.bar.Finish() }

// progressLogEvery is how often a backfill without a terminal logs progress.
const progressLogEvery = 10 * time.Second

// logProgress logs the progress of a backfill periodically.
type logProgress struct {
	log zerolog.Logger
	now func() time.Time

	mu          sync.Mutex
	total, done int
	started     time.Time
	lastLog     time.Time
}

func (p *logProgress) Start(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.started, p.lastLog = total, p.now(), p.now()
	p.log.Info().Int("windows", total).Msg("backfill starting")
}

func (p *logProgress) Advance(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if now := p.now(); now.Sub(p.lastLog) >= progressLogEvery {
		p.lastLog = now
		p.logLine(now, "backfill progress")
	}
}

func (p *logProgress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logLine(p.now(), "backfill finished")
}

func (p *logProgress) logLine(now time.Time, msg string) {
	ev := p.log.Info().Int("done", p.done).Int("total", p.total)
	if elapsed := now.Sub(p.started); p.done > 0 && p.done < p.total {
		eta := time.Duration(float64(elapsed) / float64(p.done) * float64(p.total-p.done))
		ev = ev.Dur("eta", eta.Round(time.Second))
	}
	ev.Msg(msg)
}
