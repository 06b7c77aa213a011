package producer

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
)

// TestMessageSizeMatchesKafkaGo pins messageSize to kafka-go's own check:
// for messages around varint boundaries, a Writer whose BatchBytes is the
// computed size accepts the message and one byte less refuses it with
// MessageTooLargeError (before any network use: the context is cancelled).
func TestMessageSizeMatchesKafkaGo(t *testing.T) {
	header := func(k string, v int) kafka.Header { return kafka.Header{Key: k, Value: []byte(strings.Repeat("v", v))} }
	many := make([]kafka.Header, 70) // a header count past one varint byte
	for i := range many {
		many[i] = header("h", i)
	}
	messages := map[string]kafka.Message{
		"empty":        {},
		"key only":     {Key: []byte("0032:7:573001")},
		"one header":   {Key: []byte("k"), Value: []byte("{}"), Headers: []kafka.Header{header("ce_id", 32)}},
		"long header":  {Value: []byte("x"), Headers: []kafka.Header{header(strings.Repeat("k", 64), 200)}},
		"many headers": {Value: []byte(strings.Repeat("x", 5000)), Headers: many},
		"large value":  {Key: []byte("k"), Value: []byte(strings.Repeat("x", 70000))},
	}
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, m := range messages {
		size := messageSize(&m)
		for _, limit := range []int64{size, size - 1} {
			w := &kafka.Writer{Addr: kafka.TCP("127.0.0.1:1"), Topic: "t", BatchBytes: limit, Transport: transport}
			var tooLarge kafka.MessageTooLargeError
			refused := errors.As(w.WriteMessages(ctx, m), &tooLarge)
			if want := size > limit; refused != want {
				t.Errorf("%s: messageSize %d, BatchBytes %d: kafka-go refused=%v, want %v", name, size, limit, refused, want)
			}
		}
	}
}
