package snapshot_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
)

// bogota is the operation's zone in the tests (fixed, so that the tests do
// not depend on the host's tzdata).
var bogota = time.FixedZone("COT", -5*3600)

var (
	windowStart   = time.Date(2025, 3, 9, 10, 0, 0, 0, bogota)
	previousStart = windowStart.Add(-5 * time.Minute)
)

// calls returns plausible metrics: inbound calls, of which answered were
// answered, sl20 percent within 20 s, asa seconds to answer.
func calls(inbound, answered int64, sl20, asa float64) schema.Metrics {
	abandoned := inbound - answered
	m := schema.Metrics{
		InboundCalls:       schema.IntOf(inbound),
		AnswerCalls:        schema.IntOf(answered),
		AbandonCalls:       schema.IntOf(abandoned),
		ServiceLevel10sPct: schema.FloatOf(sl20 / 2),
		ServiceLevel20sPct: schema.FloatOf(sl20),
		ServiceLevel30sPct: schema.FloatOf(sl20),
		AbandonPct:         schema.FloatOf(float64(100*abandoned) / float64(max(inbound, 1))),
		ASASeconds:         schema.FloatOf(asa),
	}
	if abandoned > 0 {
		m.ATASeconds = schema.FloatOf(30)
	}
	return m
}

func row(dnis string, m schema.Metrics) fetch.Row { return fetch.Row{DNIS: dnis, Metrics: m} }

func window(rows ...fetch.Row) snapshot.Window {
	return snapshot.Window{
		Operation: "0032",
		SkillID:   "12",
		Start:     windowStart,
		End:       windowStart.Add(5 * time.Minute),
		FetchedAt: time.Date(2025, 3, 9, 15, 6, 0, 0, time.UTC),
		Producer:  schema.Producer{Name: "skill6pub", Version: "test"},
		Report:    fetch.Report{Rows: rows},
	}
}

func previousSnapshot(rows ...fetch.Row) *snapshot.Snapshot {
	return &snapshot.Snapshot{WindowStart: previousStart, WindowEnd: windowStart, Rows: rows}
}

// summary renders events one line each, for tables that read like the
// expected topic content.
func summary(events []schema.Event) []string {
	var out []string
	for _, e := range events {
		switch e := e.(type) {
		case *schema.DNISWindow:
			s := fmt.Sprintf("window r%d %s %s", e.Revision, e.DNIS, e.Change)
			if e.SourceRows != 1 {
				s += fmt.Sprintf(" x%d", e.SourceRows)
			}
			if !e.PreviousWindowKnown {
				s += " (previous unknown)"
			}
			out = append(out, s)
		case *schema.DNISGone:
			out = append(out, fmt.Sprintf("gone r%d %s", e.Revision, e.DNIS))
		case *schema.WindowClosed:
			prev := "-"
			if e.PreviousWindowStart != nil {
				prev = e.PreviousWindowStart.Format("15:04")
			}
			flags := []string{}
			if e.MaybeTruncated {
				flags = append(flags, "truncated")
			}
			if e.NoData {
				flags = append(flags, "no_data")
			}
			out = append(out, fmt.Sprintf("closed r%d rows=%d merged=%d rejected=%d events=%d gone=%d repeat=%d known=%v prev=%s %s",
				e.Revision, e.RowCount, e.MergedRows, e.RejectedRows, e.DNISWindowEvents, e.GoneCount, e.RepeatCallers,
				e.PreviousWindowKnown, prev, strings.Join(flags, ",")))
		}
	}
	return out
}
