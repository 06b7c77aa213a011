// Package consume reads skill6pub's events back from Kafka with franz-go, a
// second Kafka implementation independent of the kafka-go producer. The demo
// prints what it reads; the end-to-end and reliability tests check it.
package consume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skill6pub/skill6pub/schema"
)

// Record is one record of the topic with its event decoded: Event on the
// events topic, DeadLetter on the dead-letter topic.
type Record struct {
	Partition  int32
	Offset     int64
	Key        string
	Headers    map[string]string
	Value      []byte
	Event      schema.Event
	DeadLetter *schema.DeadLetter
}

// Reader reads a topic from its beginning.
type Reader struct {
	client *kgo.Client
	topic  string
	next   map[int32]int64 // per partition, the offset after the last record read
	decode func(r *Record) error
}

// NewReader connects to brokers and starts reading topic, a topic of
// events, from the start of every partition.
func NewReader(brokers []string, topic string, opts ...kgo.Opt) (*Reader, error) {
	return newReader(brokers, topic, func(r *Record) (err error) {
		r.Event, err = Decode(r.Value)
		return err
	}, opts)
}

// NewDeadLetterReader is NewReader for the dead-letter topic: each record's
// DeadLetter is decoded.
func NewDeadLetterReader(brokers []string, topic string, opts ...kgo.Opt) (*Reader, error) {
	return newReader(brokers, topic, func(r *Record) error {
		var d schema.DeadLetter
		if err := json.Unmarshal(r.Value, &d); err != nil {
			return fmt.Errorf("not a dead letter: %w", err)
		}
		if d.DeadLetterID == "" || (d.Source != schema.DeadLetterRow && d.Source != schema.DeadLetterEvent) {
			return fmt.Errorf("not a dead letter: id %q, source %q", d.DeadLetterID, d.Source)
		}
		r.DeadLetter = &d
		return nil
	}, opts)
}

func newReader(brokers []string, topic string, decode func(*Record) error, opts []kgo.Opt) (*Reader, error) {
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	return &Reader{client: cl, topic: topic, next: map[int32]int64{}, decode: decode}, nil
}

// Poll waits for the next records and decodes them. A record whose value is
// not a known event (or dead letter) is an error: nothing on the topic may
// be undecodable.
func (r *Reader) Poll(ctx context.Context) ([]Record, error) {
	fetches := r.client.PollFetches(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var errs []error
	fetches.EachError(func(topic string, p int32, err error) {
		errs = append(errs, fmt.Errorf("consume %s[%d]: %w", topic, p, err))
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []Record
	var decodeErr error
	fetches.EachRecord(func(kr *kgo.Record) {
		h := make(map[string]string, len(kr.Headers))
		for _, hd := range kr.Headers {
			h[hd.Key] = string(hd.Value)
		}
		rec := Record{Partition: kr.Partition, Offset: kr.Offset, Key: string(kr.Key), Headers: h, Value: kr.Value}
		if err := r.decode(&rec); err != nil && decodeErr == nil {
			decodeErr = fmt.Errorf("record %s[%d]@%d: %w", kr.Topic, kr.Partition, kr.Offset, err)
		}
		r.next[kr.Partition] = kr.Offset + 1
		out = append(out, rec)
	})
	return out, decodeErr
}

// ReadToEnd reads every record up to the topic's current high watermarks
// (the records Kafka acknowledged so far) and hands each to add. A poll
// holding a record that cannot be decoded ends it with that error, before
// any record of that poll reaches add: a topic with an undecodable record
// is a failure of what wrote it, not data to count.
func (r *Reader) ReadToEnd(ctx context.Context, add func(Record)) error {
	ends, err := kadm.NewClient(r.client).ListEndOffsets(ctx, r.topic)
	if err != nil {
		return fmt.Errorf("list end offsets of %s: %w", r.topic, err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("list end offsets of %s: %w", r.topic, err)
	}
	behind := func() bool {
		caughtUp := true
		ends.Each(func(o kadm.ListedOffset) {
			if r.next[o.Partition] < o.Offset {
				caughtUp = false
			}
		})
		return !caughtUp
	}
	for behind() {
		records, err := r.Poll(ctx)
		if err != nil {
			return err
		}
		for _, rec := range records {
			add(rec)
		}
	}
	return nil
}

// Close stops the reader.
func (r *Reader) Close() { r.client.Close() }

// Decode turns a record value into the event type it names.
func Decode(value []byte) (schema.Event, error) {
	var head struct {
		EventType string `json:"event_type"`
	}
	if err := json.Unmarshal(value, &head); err != nil {
		return nil, fmt.Errorf("not an event: %w", err)
	}
	var ev schema.Event
	switch head.EventType {
	case schema.TypeDNISWindow:
		ev = &schema.DNISWindow{}
	case schema.TypeDNISGone:
		ev = &schema.DNISGone{}
	case schema.TypeWindowClosed:
		ev = &schema.WindowClosed{}
	default:
		return nil, fmt.Errorf("unknown event_type %q", head.EventType)
	}
	if err := json.Unmarshal(value, ev); err != nil {
		return nil, fmt.Errorf("decode %s: %w", head.EventType, err)
	}
	return ev, nil
}
