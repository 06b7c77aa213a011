package schema_test

import (
	"encoding/json"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/internal/cputime"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
)

// BenchmarkEncode encodes the events of a window of 100,000 DNIS rows
// diffed against a previous window (70,000 callers again, 30,000 gone), the
// way the producer does before a publish: the messages of the window are
// kept until the next pass overwrites them, as a publish keeps them until
// they are acknowledged. cpu-ns/event is the process's CPU time, the
// garbage collector's included.
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
			FetchedAt: e.FetchedAt.Time, Producer: e.Producer, Report: fetch.Report{Rows: rows}}
	}
	prev := snapshot.Diff(nil, window(rowsFrom(0))).Snapshot
	events := snapshot.Diff(&prev, window(rowsFrom(30_000))).Events.All()
	msgs := make([]schema.Message, len(events))
	// encodeRange encodes events[from:to] into msgs with a new Encoder, as
	// one of the producer's encoding goroutines does.
	encodeRange := func(b *testing.B, from, to int) {
		var enc schema.Encoder
		for i := from; i < to; i++ {
			var err error
			if msgs[i], err = enc.Encode(events[i]); err != nil {
				b.Error(err)
				return
			}
		}
	}
	encoders := []struct {
		name   string
		encode func(b *testing.B)
	}{
		// The function: value, key and headers.
		{"Encode", func(b *testing.B) {
			for i, e := range events {
				var err error
				if msgs[i], err = schema.Encode(e); err != nil {
					b.Fatal(err)
				}
			}
		}},
		// The same messages from one Encoder.
		{"Encoder", func(b *testing.B) { encodeRange(b, 0, len(events)) }},
		// What the producer does: one Encoder per CPU, each over a
		// contiguous range of the window.
		{"Encoder-per-CPU", func(b *testing.B) {
			var wg sync.WaitGroup
			per := (len(events) + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
			for from := 0; from < len(events); from += per {
				wg.Go(func() { encodeRange(b, from, min(from+per, len(events))) })
			}
			wg.Wait()
		}},
		// The reference the hand-written JSON replaced: the value alone, by
		// reflection.
		{"encoding-json-value-only", func(b *testing.B) {
			for i, e := range events {
				var err error
				if msgs[i].Value, err = json.Marshal(e); err != nil {
					b.Fatal(err)
				}
			}
		}},
	}
	for _, enc := range encoders {
		b.Run(enc.name, func(b *testing.B) {
			clear(msgs)
			b.ReportAllocs()
			// Both reads are 0 where CPU time cannot be read (outside unix):
			// cpu-ns/event is then 0.
			cpu, _ := cputime.Process()
			for b.Loop() {
				enc.encode(b)
			}
			cpuAfter, _ := cputime.Process()
			cpu = cpuAfter - cpu
			var bytes int64
			for _, m := range msgs {
				bytes += int64(len(m.Value))
			}
			perOp := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(len(events))/perOp, "events/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(len(events)), "cpu-ns/event")
			b.ReportMetric(float64(bytes)/float64(len(events)), "bytes/event")
			b.SetBytes(bytes)
		})
	}
}
