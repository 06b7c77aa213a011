// Package reliability is the fault harness the reliability tests share: an
// in-process Kafka with faults (Kafka), the wolkvox simulator with hostile
// answers (Upstream), the service's components run in process on any clock
// and killed at failpoints (Run), and the checker that reads the whole topic
// and its dead letters back with franz-go and holds them to the service's
// promises (Checker). Its tests are the reliability proof of issue 7; the
// crash tests of the real binary are in cmd/skill6pub.
package reliability

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/schema"
)

// Expect is what a run must have published.
type Expect struct {
	Skills []string
	// Calendar lays out the windows (INTERVAL in WOLKVOX_TIMEZONE).
	Calendar scheduler.Calendar
	// First and Last are the starts of the first and the last window every
	// skill must have, complete and in order, with every window between.
	First, Last time.Time
	// BadRow tells whether a row dead letter is of a row that really was
	// bad (from its raw JSON, its window...). nil: no dead letter is
	// expected at all.
	BadRow func(d *schema.DeadLetter) bool
}

// Checker reads the events topic and the dead-letter topic from the start
// into a consume.Ledger and checks the promises.
type Checker struct {
	Ledger *consume.Ledger
	// Inspect, when set, sees every record read, before the ledger does.
	Inspect     func(consume.Record)
	events      *consume.Reader
	deadLetters *consume.Reader
}

// NewChecker reads topic and dlqTopic on brokers with franz-go (opts add
// SASL and the like). Close it when done.
func NewChecker(brokers []string, topic, dlqTopic string, opts ...kgo.Opt) (*Checker, error) {
	events, err := consume.NewReader(brokers, topic, opts...)
	if err != nil {
		return nil, err
	}
	deadLetters, err := consume.NewDeadLetterReader(brokers, dlqTopic, opts...)
	if err != nil {
		events.Close()
		return nil, err
	}
	ledger := consume.NewLedger()
	ledger.CheckDeadLetters = true
	return &Checker{Ledger: ledger, events: events, deadLetters: deadLetters}, nil
}

// Close stops the readers.
func (c *Checker) Close() {
	c.events.Close()
	c.deadLetters.Close()
}

// ReadToEnd reads both topics up to their high watermarks: every record
// Kafka acknowledged so far.
func (c *Checker) ReadToEnd(ctx context.Context) error {
	add := func(r consume.Record) {
		if c.Inspect != nil {
			c.Inspect(r)
		}
		c.Ledger.Add(r)
	}
	if err := c.deadLetters.ReadToEnd(ctx, add); err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	return c.events.ReadToEnd(ctx, add)
}

// Check returns every broken promise: from the ledger (duplicates that
// differ, windows of a key out of order, window_closed counts that disagree
// with the DNIS events or the row dead letters, events of a window that
// never closed), windows missing between First and Last, and dead letters of
// rows that were not bad.
func (c *Checker) Check(want Expect) []string {
	problems := c.Ledger.Problems()
	closed := map[string]map[time.Time]*consume.Tally{}
	for _, t := range c.Ledger.Closed() {
		if t.Key.Revision != 0 {
			continue
		}
		if closed[t.Key.SkillID] == nil {
			closed[t.Key.SkillID] = map[time.Time]*consume.Tally{}
		}
		closed[t.Key.SkillID][t.Key.Start] = t
	}
	for _, skill := range want.Skills {
		missing := 0
		for w := want.Calendar.WindowAt(want.First); !w.Start.After(want.Last); w = want.Calendar.Next(w) {
			t := closed[skill][w.Start.UTC()]
			switch {
			case t == nil:
				if missing++; missing <= 5 {
					problems = append(problems, fmt.Sprintf("skill %s: window %s is missing", skill, w.Start.Format(time.RFC3339)))
				}
			case !t.Complete():
				problems = append(problems, fmt.Sprintf("skill %s: window %s is incomplete", skill, w.Start.Format(time.RFC3339)))
			}
		}
		if missing > 5 {
			problems = append(problems, fmt.Sprintf("skill %s: %d windows missing in all", skill, missing))
		}
	}
	for _, d := range c.Ledger.DeadLetters() {
		switch {
		case d.Source != schema.DeadLetterRow:
			problems = append(problems, fmt.Sprintf("dead letter %s of skill %s window %s is an event that could not be published: %s",
				d.DeadLetterID, d.SkillID, d.WindowStart.Format(time.RFC3339), d.Reason))
		case want.BadRow == nil || !want.BadRow(d):
			problems = append(problems, fmt.Sprintf("dead letter %s of skill %s window %s is not a bad row: %s (%s)",
				d.DeadLetterID, d.SkillID, d.WindowStart.Format(time.RFC3339), d.Raw, d.Reason))
		}
	}
	return problems
}

// Tallies counts what a run published.
type Tallies struct {
	Windows, Revisions                  int // window_closed of revision 0, and of later revisions
	Events                              int // distinct events
	DNISEvents                          int // dnis_window and dnis_gone events of revision 0
	Duplicates, DeadLetterDuplicates    int // records published again (identical)
	LateDuplicates                      int // of the Duplicates, those that landed after a newer window of their key
	RowDeadLetters, EventDeadLetters    int
	EmptyWindows, RejectedRowsInWindows int
	FirstWindow, LastWindow             time.Time
}

// Tallies returns the counts of what was read.
func (c *Checker) Tallies() Tallies {
	var t Tallies
	for _, w := range c.Ledger.Closed() {
		t.Events += w.DNISEvents() + w.Gone + 1
		t.RowDeadLetters += w.RowDeadLetters
		t.EventDeadLetters += w.EventDeadLetters
		if w.Key.Revision > 0 {
			t.Revisions++
			continue
		}
		t.Windows++
		t.DNISEvents += w.DNISEvents() + w.Gone
		t.RejectedRowsInWindows += w.Closed.RejectedRows
		if w.Closed.RowCount == 0 {
			t.EmptyWindows++
		}
		if t.FirstWindow.IsZero() || w.Key.Start.Before(t.FirstWindow) {
			t.FirstWindow = w.Key.Start
		}
		if w.Key.Start.After(t.LastWindow) {
			t.LastWindow = w.Key.Start
		}
	}
	t.Duplicates, t.DeadLetterDuplicates, t.LateDuplicates = c.Ledger.Duplicates, c.Ledger.DeadLetterDuplicates, c.Ledger.LateDuplicates
	return t
}

// String prints the tallies one per line, for logs and RELIABILITY.md.
func (t Tallies) String() string {
	lines := []string{
		fmt.Sprintf("windows published (revision 0): %d, from %s to %s", t.Windows, t.FirstWindow.Format(time.RFC3339), t.LastWindow.Format(time.RFC3339)),
		fmt.Sprintf("revisions published: %d", t.Revisions),
		fmt.Sprintf("distinct events: %d (%d dnis_window/dnis_gone of revision 0)", t.Events, t.DNISEvents),
		fmt.Sprintf("empty windows (window_closed with no rows): %d", t.EmptyWindows),
		fmt.Sprintf("duplicate records, all identical to the first copy: %d events (%d of them after a newer window of their key), %d dead letters", t.Duplicates, t.LateDuplicates, t.DeadLetterDuplicates),
		fmt.Sprintf("dead letters: %d rows (%d of first publications, as their window_closed counts; the rest of revisions), %d events", t.RowDeadLetters, t.RejectedRowsInWindows, t.EventDeadLetters),
	}
	return strings.Join(lines, "\n")
}
