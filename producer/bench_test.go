package producer_test

import (
	"context"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
)

// BenchmarkPublish publishes 100,000 prepared events through Publish, next
// to the ceiling: kafka-go's Writer with the same settings sending the same
// records already encoded. The broker acknowledges without storing
// (kfake.BlackholeProduce), so that its memory stays flat over iterations.
//
//	go test -run '^$' -bench BenchmarkPublish -benchtime 10x ./producer/
func BenchmarkPublish(b *testing.B) {
	const n = 100_000
	c := newCluster(b, kfake.BlackholeProduce())
	cfg := testConfig(c)
	events := window(0, n-1)
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
	ctx := context.Background()
	stored := func(b *testing.B, before int64) {
		if got := storedCount(c, topic) - before; got != int64(n)*int64(b.N) {
			b.Fatalf("broker acknowledged %d records, want %d", got, int64(n)*int64(b.N))
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	}

	b.Run("producer", func(b *testing.B) {
		p := newProducer(b, cfg)
		publish(b, p, events[:10]) // connect outside the timing
		before := storedCount(c, topic)
		for b.Loop() {
			if err := p.Publish(ctx, events, nil); err != nil {
				b.Fatal(err)
			}
		}
		stored(b, before)
	})
	b.Run("ceiling", func(b *testing.B) {
		w, transport, err := producer.NewBareWriter(cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer transport.CloseIdleConnections()
		defer w.Close()
		if err := w.WriteMessages(ctx, msgs[:10]...); err != nil {
			b.Fatal(err)
		}
		before := storedCount(c, topic)
		for b.Loop() {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				b.Fatal(err)
			}
		}
		stored(b, before)
	})
}
