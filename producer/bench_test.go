package producer_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/internal/cputime"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
)

// BenchmarkPublish publishes 100,000 prepared events through Publish, next
// to the ceiling: kafka-go's Writer with the same settings sending the same
// records already encoded. The broker acknowledges without storing
// (kfake.BlackholeProduce), so that its memory stays flat over iterations.
// "encode" is Publish's encoding step alone, the work the ceiling skips.
//
//	go test -run '^$' -bench BenchmarkPublish -benchtime 10x ./producer/
func BenchmarkPublish(b *testing.B) {
	const n = 100_000
	c := newCluster(b, kfake.BlackholeProduce())
	cfg := testConfig(c)
	events := window(0, n-1)
	ctx := context.Background()
	stored := func(b *testing.B, before int64, cpuBefore time.Duration) {
		if got := storedCount(c, topic) - before; got != int64(n)*int64(b.N) {
			b.Fatalf("broker acknowledged %d records, want %d", got, int64(n)*int64(b.N))
		}
		report(b, n, cpuBefore)
	}

	b.Run("producer", func(b *testing.B) {
		p := newProducer(b, cfg)
		publish(b, p, events[:10]) // connect outside the timing
		before := storedCount(c, topic)
		cpu, err := cputime.Process()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := p.Publish(ctx, schema.EventSlice(events), nil); err != nil {
				b.Fatal(err)
			}
		}
		stored(b, before, cpu)
	})
	b.Run("encode", func(b *testing.B) {
		cpu, err := cputime.Process()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := producer.EncodeAll(topic, events); err != nil {
				b.Fatal(err)
			}
		}
		report(b, n, cpu)
	})
	b.Run("ceiling", func(b *testing.B) {
		// Encoded here, so that the other runs do not carry them in the
		// heap the garbage collector scans.
		msgs := make([]kafka.Message, len(events))
		for i, e := range events {
			m, err := schema.Encode(e)
			if err != nil {
				b.Fatal(err)
			}
			headers := make([]kafka.Header, len(m.Headers))
			for j, h := range m.Headers {
				headers[j] = kafka.Header{Key: h.Key, Value: h.Value}
			}
			msgs[i] = kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: headers}
		}
		w, transport, err := producer.NewCeilingWriter(cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer transport.CloseIdleConnections()
		defer w.Close()
		if err := w.WriteMessages(ctx, msgs[:10]...); err != nil {
			b.Fatal(err)
		}
		before := storedCount(c, topic)
		cpu, err := cputime.Process()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				b.Fatal(err)
			}
		}
		stored(b, before, cpu)
	})
}

// report adds events/s (wall) and cpu-ms/op, the CPU time of the whole
// process (the in-process broker included) per iteration: the steadier
// figure on a shared machine.
func report(b *testing.B, n int, cpuBefore time.Duration) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	cpu, err := cputime.Process()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((cpu-cpuBefore).Milliseconds())/float64(b.N), "cpu-ms/op")
}
