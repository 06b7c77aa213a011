package schema_test

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
)

// BenchmarkEncode encodes the events of a window of 100,000 DNIS rows
// diffed against a previous window (70,000 callers again, 30,000 gone), the
// way the producer does before a publish.
func BenchmarkEncode(b *testing.B) {
	rowsFrom := func(from int) []fetch.Row {
		rows := make([]fetch.Row, 100_000)
		for i := range rows {
			m := sampleMetrics()
			m.InboundCalls = schema.IntOf(int64(1 + (from+i)%5))
			m.ASASeconds = schema.FloatOf(float64((from+i)%300) + 0.25)
			rows[i] = fetch.Row{DNIS: "57300" + strconv.Itoa(1_000_000+from+i), Metrics: m}
		}
		return rows
	}
	window := func(rows []fetch.Row) snapshot.Window {
		e := sampleEnvelope(schema.TypeDNISWindow, "")
		return snapshot.Window{Operation: e.Operation, SkillID: e.SkillID, Start: e.WindowStart, End: e.WindowEnd,
			FetchedAt: e.FetchedAt, Producer: e.Producer, Report: fetch.Report{Rows: rows}}
	}
	prev := snapshot.Diff(nil, window(rowsFrom(0))).Snapshot
	events := snapshot.Diff(&prev, window(rowsFrom(30_000))).Events.All()
	encoders := []struct {
		name   string
		encode func(schema.Event) ([]byte, error)
	}{
		// What the producer calls: value, key and headers.
		{"Encode", func(e schema.Event) ([]byte, error) {
			m, err := schema.Encode(e)
			return m.Value, err
		}},
		// The reference it replaced: the value alone, by reflection.
		{"encoding-json-value-only", func(e schema.Event) ([]byte, error) { return json.Marshal(e) }},
	}
	for _, enc := range encoders {
		b.Run(enc.name, func(b *testing.B) {
			b.ReportAllocs()
			var bytes int64
			for b.Loop() {
				bytes = 0
				for _, e := range events {
					v, err := enc.encode(e)
					if err != nil {
						b.Fatal(err)
					}
					bytes += int64(len(v))
				}
			}
			perOp := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(len(events))/perOp, "events/s")
			b.ReportMetric(float64(bytes)/float64(len(events)), "bytes/event")
			b.SetBytes(bytes)
		})
	}
}
