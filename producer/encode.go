package producer

import (
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/segmentio/kafka-go"

	"github.com/skill6pub/skill6pub/schema"
)

// encodeChunk encodes events into memory from r, diverting the ones that
// cannot be published as they are to the chunk's dead letters.
func (p *Producer) encodeChunk(events []schema.Event, r *recycler) encodedChunk {
	c := encodedChunk{out: batch{topic: p.cfg.Topic}, dlq: batch{topic: p.settings.dlqTopic}}
	msgs, failures := encodeAll(c.out.topic, events, r, &c.memory)
	c.out.labels = c.memory.labels
	// The events that stay are moved down over the diverted ones, in
	// place: a chunk is not copied again.
	kept := 0
	for i, e := range events {
		kind, reason, size := "", "", int64(0)
		if len(failures) > 0 && failures[0].at == i {
			kind, reason = reasonUnencodable, fmt.Sprintf("unencodable event: %v", failures[0].err)
			failures = failures[1:]
		} else if size = messageSize(&msgs[i]); size > p.cfg.BatchBytes {
			// kafka-go would fail the whole call, before sending anything,
			// for one message over BatchBytes.
			kind, reason = reasonOversized, fmt.Sprintf("oversized event: %d bytes, over KAFKA_BATCH_BYTES=%d", size, p.cfg.BatchBytes)
		}
		if kind != "" {
			d, err := p.divert(e, kind, reason, size)
			if err != nil {
				c.err = err
				return c
			}
			c.dlq.add(d, kind)
			continue
		}
		msgs[kept] = msgs[i]
		kept++
		c.out.labels = append(c.out.labels, e.Head().EventType)
	}
	c.out.msgs = msgs[:kept]
	return c
}

// eventsPerEncoder is the least work worth a goroutine of its own.
const eventsPerEncoder = 512

// encodeFailure is an event that could not be encoded: events[at].
type encodeFailure struct {
	at  int
	err error
}

// encodeAll encodes events for topic, in order, into the memory mem takes
// from r, spreading a large chunk over every CPU: encoding costs more than
// sending (BENCHMARKS.md). The failures are in the events' order. Each
// goroutine has its own schema.Encoder, which formats what a window's events
// share once.
func encodeAll(topic string, events []schema.Event, r *recycler, mem *chunkMemory) (msgs []kafka.Message, failures []encodeFailure) {
	r.messages(mem, len(events))
	msgs = mem.msgs
	encodeRange := func(from, to int) (failed []encodeFailure) {
		enc := schema.Encoder{Buffer: func(minCap int) []byte { return r.buffer(mem, minCap) }}
		headers := headerSlab{next: func() []kafka.Header { return r.slab(mem) }}
		add := headers.add
		for i := from; i < to; i++ {
			first := headers.reserve()
			key, value, err := enc.EncodeTo(events[i], add)
			if err != nil {
				failed = append(failed, encodeFailure{at: i, err: err})
			}
			// The record's time is its window's end (event time), so that
			// replay by time, watermarks and retention follow the data.
			msgs[i] = kafka.Message{Topic: topic, Key: key, Value: value, Headers: headers.since(first), Time: events[i].Head().WindowEnd}
		}
		return failed
	}
	workers := min(runtime.GOMAXPROCS(0), (len(events)+eventsPerEncoder-1)/eventsPerEncoder)
	if workers <= 1 {
		return msgs, encodeRange(0, len(events))
	}
	var wg sync.WaitGroup
	failedByRange := make([][]encodeFailure, workers)
	per := (len(events) + workers - 1) / workers
	for w := range workers {
		from, to := min(w*per, len(events)), min((w+1)*per, len(events))
		wg.Go(func() { failedByRange[w] = encodeRange(from, to) })
	}
	wg.Wait()
	return msgs, slices.Concat(failedByRange...)
}

// headerSlab hands out kafka-go headers from slabs of headerSlabSize, which
// next supplies: one allocation per message was a tenth of Publish's
// garbage, and copying headers built by schema another tenth of its
// encoding.
type headerSlab struct {
	slab []kafka.Header
	next func() []kafka.Header
}

const (
	headerSlabSize = 1024
	// maxHeaders is the most headers an event has: schema's eight
	// CloudEvents headers.
	maxHeaders = 8
)

// reserve makes room for one record's headers and returns where they start.
func (s *headerSlab) reserve() int {
	if cap(s.slab)-len(s.slab) < maxHeaders {
		s.slab = s.next()
	}
	return len(s.slab)
}

// add appends a header, field by field: a whole kafka.Header is copied
// with the garbage collector's bulk write barrier, slower while it marks.
// Past the reserved room append moves the slab, which keeps the indexes.
func (s *headerSlab) add(key string, value []byte) {
	n := len(s.slab)
	if n == cap(s.slab) {
		s.slab = append(s.slab, kafka.Header{})
	} else {
		s.slab = s.slab[:n+1]
	}
	h := &s.slab[n]
	h.Key = key
	h.Value = value
}

// since returns the headers added from first on, capped so that appending
// to them cannot overwrite the next record's.
func (s *headerSlab) since(first int) []kafka.Header {
	return s.slab[first:len(s.slab):len(s.slab)]
}
