package producer

import (
	"github.com/segmentio/kafka-go"
)

// messageSize is the size kafka-go v0.4.51 compares with BatchBytes
// (Message.totalSize in its message.go): the v1 message framing, key,
// value, timestamp and the varint-framed headers. TestMessageSizeMatchesKafkaGo
// pins it to kafka-go's own verdict.
func messageSize(m *kafka.Message) int64 {
	size := 4 + 1 + 1 + (4 + len(m.Key)) + (4 + len(m.Value)) + 8
	size += varintLen(len(m.Headers))
	for _, h := range m.Headers {
		size += varintLen(len(h.Key)) + len(h.Key) + varintLen(len(h.Value)) + len(h.Value)
	}
	return int64(size)
}

// varintLen is the length of n as a zig-zag varint.
func varintLen(n int) int {
	u := uint64(n) << 1 // zig-zag of a non-negative number
	size := 1
	for u >= 0x80 {
		u >>= 7
		size++
	}
	return size
}
