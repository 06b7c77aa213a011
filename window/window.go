// Package window is one window's work, written once for every command that
// publishes (the live loop, once, backfill and revisions): fetch the window
// or resume its write-ahead record, save that record while the diff runs,
// publish, then commit. Each step takes the stream's state and returns the
// state it leaves; nothing is written through the caller's.
//
// The invariants the commands rely on live here:
//   - a window goes out from one fetch: the write-ahead record is saved
//     before the first record is sent, and a window published again (after
//     a crash, a failed publish, by any command) goes out from that record,
//     compared with the same snapshot, with the same bytes;
//   - a commit adds the window to the stream's published spans, window by
//     window, whatever the command: "already published" is read from that
//     one record by every command;
//   - the stream's latest windows (the snapshots the next window is compared
//     with, and revisions revise) move only forward: a window older than the
//     latest one joins the spans and leaves them as they are.
//
// The calendar (which window comes next, catch-up, gaps) is the scheduler's.
package window

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
)

// Window is one report window [Start, End) of the operation's time zone.
// Start and End are in that zone, so they print with its offset.
type Window struct {
	Start time.Time
	End   time.Time
}

// String formats the window as its two RFC 3339 bounds.
func (w Window) String() string {
	return w.Start.Format(time.RFC3339) + "/" + w.End.Format(time.RFC3339)
}

// Fetcher fetches one window [start, end) of the skill_6 report for one
// skill. *fetch.Client implements it; it also counts the calls that reach
// wolkvox, which is what the daily quota is checked against: the fetch
// client owns the quota's count, the scheduler the warning, and this
// package spends exactly one call per fetched window (none on a resume).
type Fetcher interface {
	Fetch(ctx context.Context, skillID string, start, end time.Time) (fetch.Report, error)
}

// Publisher publishes one window's events and dead letters; a nil error means
// Kafka acknowledged all of them. *producer.Producer implements it.
type Publisher interface {
	Publish(ctx context.Context, events schema.Events, deadLetters []schema.DeadLetter) error
}

// TablePublisher writes the events of a skill's latest window to the
// compacted table topic (a dnis_window per DNIS, a tombstone per dnis_gone,
// the window_closed under the skill's key). *producer.Producer implements
// it.
type TablePublisher interface {
	PublishTable(ctx context.Context, events schema.Events) error
}

// Store keeps the state of each stream of windows. *state.Dir implements it.
type Store interface {
	Load(key state.Key) (state.State, bool, error)
	Save(s state.State) error
}

// Deps are the transaction's collaborators and the settings of the stream.
type Deps struct {
	Fetcher   Fetcher
	Publisher Publisher
	Store     Store
	// Table, when set, gets the events of each skill's latest window after
	// they are published: revision 0 of a window that becomes the latest,
	// and revisions of the latest. Never an older window's, so a key of the
	// table never moves back in time. nil: no table.
	Table  TablePublisher
	Clock  clock.Clock // nil: the wall clock
	Logger zerolog.Logger
	// Location is WOLKVOX_TIMEZONE: the events speak its offset.
	Location *time.Location
	// Operation is the wolkvox server id; it names the stream in events and
	// state keys.
	Operation string
	Producer  schema.Producer
	// Hasher replaces each DNIS by its keyed hash; nil publishes DNIS as is.
	Hasher *schema.DNISHasher
	// Keep is how many of its latest published windows the stream keeps:
	// 1 + REVISE_WINDOWS. 0 means 1.
	Keep int
	// ShutdownGrace is SHUTDOWN_TIMEOUT: once the caller's ctx ends, a
	// commit in progress gets this long (wall-clock time) to publish and
	// commit. 0 means 30s.
	ShutdownGrace time.Duration
	// Failpoint, when set, is called with the name of each point of a
	// window's work where crash tests stop the process
	// (FailpointAfterPublish). nil: none.
	Failpoint func(name string)
}

// FailpointAfterPublish is passed to Deps.Failpoint once a window (or a
// revision) is acknowledged by Kafka and before its state is committed: a
// process that dies there publishes the window again at its next start.
const FailpointAfterPublish = "after-publish"

const defaultShutdownGrace = 30 * time.Second

// Transaction runs the work of windows for the streams of one operation.
// It holds no state of its own between calls: the stream's state goes in
// and comes out.
type Transaction struct {
	deps Deps
	// diff is snapshot.Diff; the package's own tests watch it run.
	diff func(prev *snapshot.Snapshot, cur snapshot.Window) snapshot.Output
}

// New returns a Transaction. Fetcher, Publisher, Store and Location are
// required.
func New(deps Deps) (*Transaction, error) {
	if deps.Fetcher == nil || deps.Publisher == nil || deps.Store == nil || deps.Location == nil {
		return nil, fmt.Errorf("window: Fetcher, Publisher, Store and Location are required")
	}
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if deps.ShutdownGrace <= 0 {
		deps.ShutdownGrace = defaultShutdownGrace
	}
	deps.Keep = max(deps.Keep, 1)
	return &Transaction{deps: deps, diff: snapshot.Diff}, nil
}

// Job is one window to publish: for the first time (Revision 0), compared
// with Base, the previous window's snapshot (nil when none is known); or as
// revision Revision, revising Base, the published snapshot of revision
// Revision-1.
type Job struct {
	Window   Window
	Revision int
	Base     *snapshot.Snapshot
}

// Step is the part of a window's work that failed.
type Step string

// The steps of a window, in order.
const (
	StepLoad         Step = "load state"
	StepFetch        Step = "fetch"
	StepSavePending  Step = "save the window in flight"
	StepPublish      Step = "publish"
	StepPublishTable Step = "publish to the table topic"
	StepSave         Step = "save state"
)

// Error says which window of which skill failed, and at which step.
type Error struct {
	Skill  string
	Window Window
	Step   Step
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("skill %s window %s: %s: %v", e.Skill, e.Window.Start.Format(time.RFC3339), e.Step, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Logger returns log with the window's start, so that every line about a
// window says which one.
func Logger(log zerolog.Logger, w Window) zerolog.Logger {
	return log.With().Time("window_start", w.Start).Logger()
}

// GraceContext returns the context for a window's commit: it ignores the
// end of ctx for up to ShutdownGrace, so that a window in flight at
// shutdown is published and committed rather than left half done. The
// grace is wall time, not the injected clock: it is a promise to whoever
// sent the signal.
func (t *Transaction) GraceContext(ctx context.Context) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		timer := time.NewTimer(t.deps.ShutdownGrace)
		defer timer.Stop()
		select {
		case <-timer.C:
			cancel()
		case <-wctx.Done():
		}
	})
	return wctx, func() {
		stop()
		cancel()
	}
}
