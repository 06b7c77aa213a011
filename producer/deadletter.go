package producer

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/skill6pub/skill6pub/schema"
)

// Dead-letter reason kinds, the label of the dead_letters_total metric.
const (
	reasonRejectedRow = "rejected_row" // a row the caller could not type
	reasonOversized   = "oversized"    // an event larger than KAFKA_BATCH_BYTES
	reasonUnencodable = "unencodable"  // an event JSON cannot encode (a NaN metric, say)
)

// divert builds the dead letter of an event that cannot be published. Its
// raw part names the event rather than carrying it, so that it fits.
func (p *Producer) divert(e schema.Event, kind, reason string, size int64) (kafka.Message, error) {
	h := e.Head()
	key := e.Key()
	const maxKey = 256
	if len(key) > maxKey {
		key = key[:maxKey] + "..."
	}
	raw, err := json.Marshal(struct {
		EventID   string `json:"event_id"`
		EventType string `json:"event_type"`
		Key       string `json:"key"`
		SizeBytes int64  `json:"size_bytes,omitempty"`
	}{h.EventID, h.EventType, key, size})
	if err != nil {
		return kafka.Message{}, fmt.Errorf("dead letter for event %s: %w", h.EventID, err)
	}
	p.log.Warn().Str("event_id", h.EventID).Str("event_type", h.EventType).Str("kind", kind).
		Str("reason", reason).Msg("event sent to the dead-letter topic")
	return p.encodeDeadLetter(schema.EventDeadLetter(e, raw, reason))
}

// maxReason bounds a dead letter's reason, which is sent twice (in the value
// and in a header).
const maxReason = 1024

// encodeDeadLetter encodes d so that it can always be published: raw bytes
// that are not JSON are kept as a JSON string, and a dead letter too large
// for KAFKA_BATCH_BYTES keeps only the size of its raw part. Without this one
// huge rejected row would block its skill's windows forever.
func (p *Producer) encodeDeadLetter(d schema.DeadLetter) (kafka.Message, error) {
	if len(d.Reason) > maxReason {
		d.Reason = d.Reason[:maxReason] + "..."
	}
	if len(d.Raw) > 0 && !json.Valid(d.Raw) {
		quoted, err := json.Marshal(string(d.Raw))
		if err != nil {
			return kafka.Message{}, fmt.Errorf("encode dead letter (%s): %w", d.Reason, err)
		}
		d.Raw = quoted
	}
	m, err := p.encodeDeadLetterOnce(d)
	if err != nil || messageSize(&m) <= p.cfg.BatchBytes {
		return m, err
	}
	d.Raw = json.RawMessage(fmt.Sprintf(`{"truncated":true,"raw_bytes":%d}`, len(d.Raw)))
	if m, err = p.encodeDeadLetterOnce(d); err != nil {
		return m, err
	}
	if size := messageSize(&m); size > p.cfg.BatchBytes {
		// Only a very long operation or skill id gets here: minBatchBytes
		// leaves room for the rest.
		return kafka.Message{}, fmt.Errorf("dead letter (%s) is %d bytes even without its raw part, over KAFKA_BATCH_BYTES=%d",
			d.Reason, size, p.cfg.BatchBytes)
	}
	return m, nil
}

func (p *Producer) encodeDeadLetterOnce(d schema.DeadLetter) (kafka.Message, error) {
	encoded, err := schema.EncodeDeadLetter(d)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("encode dead letter (%s): %w", d.Reason, err)
	}
	return message(p.settings.dlqTopic, encoded, d.WindowEnd), nil
}

// message turns an encoded record into a kafka-go message for topic, timed
// at its window's end.
func message(topic string, m schema.Message, windowEnd time.Time) kafka.Message {
	headers := make([]kafka.Header, len(m.Headers))
	for i, h := range m.Headers {
		headers[i] = kafka.Header{Key: h.Key, Value: h.Value}
	}
	return kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: headers, Time: windowEnd}
}
