package producer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
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

// The service's own retry of what kafka-go does not retry itself: attempts
// in all, and the first wait, doubled after each attempt. The waits add up
// to 7.5 s, longer than kafka-go's metadata refresh (6 s), so that a
// partition that had no leader has one on the last attempt.
const (
	serviceAttempts   = 5
	serviceFirstDelay = 500 * time.Millisecond
)

// batch is messages for one topic, each with the metric label it counts
// under once acknowledged: the event type, or the dead-letter reason kind.
type batch struct {
	topic  string
	msgs   []kafka.Message
	labels []string
}

func (b *batch) add(m kafka.Message, label string) {
	b.msgs = append(b.msgs, m)
	b.labels = append(b.labels, label)
}

// defaultChunkEvents is how many events Publish builds, encodes and sends
// at a time. A window of 100,000 rows is about 200,000 events, 250 MB once
// encoded: sent whole it would all be in memory until the last record is
// acknowledged. 4,096 events (about 5 MB encoded) with chunksInFlight of
// them sent at once publish as fast as 8,192 did and keep the peak memory
// of a 100,000-row window under 200 MB (BENCHMARKS.md).
const defaultChunkEvents = 4096

// Publish sends one window's dead letters to the dead-letter topic, then its
// events to the topic, the window_closed last, and returns nil only when
// Kafka has acknowledged every record (acks=all). An event too large for
// KAFKA_BATCH_BYTES, or that cannot be encoded, goes to the dead-letter
// topic with the reason instead, and the rest is published. The events are
// taken a chunk at a time, a few chunks in flight, each let go once it is
// acknowledged: events of different chunks may be stored in another order
// than the window's, which keeps the order of each key as every DNIS
// appears once per window. A nil events publishes none.
//
// Any error means "do not checkpoint, publish again". A failure to publish
// is a *PublishError that lists the records not acknowledged and why, and
// wraps ErrOutcomeUnknown when ctx (or KAFKA_WRITE_TIMEOUT) ended first.
// Publishing again re-sends the same event ids, which consumers deduplicate.
func (p *Producer) Publish(ctx context.Context, events schema.Events, deadLetters []schema.DeadLetter) error {
	p.publishing.RLock()
	defer p.publishing.RUnlock()
	start := p.clock.Now()
	if events == nil {
		events = schema.EventSlice(nil)
	}
	dlq := batch{topic: p.settings.dlqTopic}
	for _, d := range deadLetters {
		m, err := p.encodeDeadLetter(d)
		if err != nil {
			p.countFailure()
			return err
		}
		dlq.add(m, reasonRejectedRow)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.WriteTimeout)
	defer cancel()
	w := windowSend{p: p, source: events, records: len(dlq.msgs) + events.Len(),
		events: map[string]int{}, deadLetters: map[string]int{}}
	// Dead letters first: a consumer that sees a window_closed counting
	// rejected rows finds those rows in the dead-letter topic already.
	if err := p.send(ctx, &dlq, w.records); err != nil {
		p.countFailure()
		return w.failed([]chunkFailure{{err: err}}, &batch{}, 0, "events not sent: the window's dead letters were not acknowledged")
	}
	w.acked(&dlq)
	if err := w.sendEvents(ctx); err != nil {
		p.countFailure()
		return err
	}
	took := p.clock.Now().Sub(start)
	p.countSuccess(&w, took)
	p.log.Debug().Int("events", events.Len()).Int("dead_letters", len(deadLetters)).
		Dur("duration", took).Msg("published")
	return nil
}

// windowSend is one Publish call's progress through its events.
type windowSend struct {
	p       *Producer
	source  schema.Events
	records int        // records of the call, dead letters included
	mu      sync.Mutex // chunks are acknowledged concurrently
	// Acknowledged records by event type, and dead letters by reason kind.
	events, deadLetters map[string]int
	// recycler passes the memory of acknowledged chunks on to the next.
	recycler recycler
}

// encodedChunk is events [from, to) encoded: the records for the topic and
// the dead letters of the events that could not be published as they are.
type encodedChunk struct {
	from, to int
	out, dlq batch
	err      error       // a dead letter that could not be encoded
	memory   chunkMemory // what out is encoded in
}

// chunksInFlight is how many chunks are being sent at once. kafka-go
// sends one request at a time per partition, and a chunk ends in part-full
// batches: with a single chunk in flight every partition would wait at each
// chunk's end (Publish took twice the ceiling's time, BENCHMARKS.md). Keys
// are unique within a window, so chunks of one window can be stored in any
// order.
const chunksInFlight = 2

// sendEvents encodes the events a chunk at a time, one chunk ahead of the
// ones being sent, and sends each chunk's dead letters then its events. The
// window's trailing watermarks (its window_closed) go last, once every
// event before them is acknowledged: events of one window sit on several
// partitions, and a consumer that reads a window_closed must be able to
// count on the rest being stored already. After a failure no further chunk
// is started; the chunks in flight finish.
func (w *windowSend) sendEvents(ctx context.Context) error {
	encodeCtx, stopEncoding := context.WithCancel(ctx)
	chunks := make(chan encodedChunk, 1)
	var encoder sync.WaitGroup
	encoder.Go(func() { w.encodeChunks(encodeCtx, chunks) })
	// The encoder reads the caller's events: it has stopped before Publish
	// returns.
	defer encoder.Wait()
	defer stopEncoding()

	var (
		senders  sync.WaitGroup
		slots    = make(chan struct{}, chunksInFlight)
		mu       sync.Mutex
		failures []chunkFailure
		held     batch // the trailing watermarks
	)
	// unstarted is where the events no sender took begin.
	unstarted := 0
	for c := range chunks {
		mu.Lock()
		if c.err != nil {
			failures = append(failures, chunkFailure{from: c.from, err: c.err})
		}
		failed := len(failures) > 0
		mu.Unlock()
		if failed {
			break
		}
		unstarted = c.to
		if c.to == w.source.Len() {
			c.out, held = splitWatermarks(c.out)
		}
		slots <- struct{}{}
		senders.Go(func() {
			defer func() { <-slots }()
			if err := w.sendChunk(ctx, &c); err != nil {
				mu.Lock()
				failures = append(failures, chunkFailure{from: c.from, err: err})
				mu.Unlock()
				return
			}
			if c.to < w.source.Len() { // the last chunk's memory holds the watermarks
				w.recycler.release(&c.memory)
			}
		})
	}
	senders.Wait()
	if len(failures) == 0 && unstarted < w.source.Len() {
		// ctx ended while the encoder was between chunks.
		failures = append(failures, chunkFailure{from: unstarted, err: w.p.outcomeUnknown(w.p.cfg.Topic, nil, w.records, ctx.Err())})
	}
	if len(failures) > 0 {
		stopEncoding()
		return w.failed(failures, &held, unstarted, "events not sent: events before them were not acknowledged")
	}
	if err := w.p.send(ctx, &held, w.records); err != nil {
		return err
	}
	w.acked(&held)
	return nil
}

// chunkFailure is why the chunk of events starting at from failed.
type chunkFailure struct {
	from int
	err  error
}

// sendChunk sends c's dead letters, then its events.
func (w *windowSend) sendChunk(ctx context.Context, c *encodedChunk) error {
	if err := w.p.send(ctx, &c.dlq, w.records); err != nil {
		return w.notSent(err, &c.out, "events not sent: the dead letters before them were not acknowledged")
	}
	w.acked(&c.dlq)
	if err := w.p.send(ctx, &c.out, w.records); err != nil {
		return err
	}
	w.acked(&c.out)
	return nil
}

// failed merges the failures of the chunks, in the window's order, and adds
// the records never sent because of them: the events from unstarted on and
// the held watermarks.
func (w *windowSend) failed(failures []chunkFailure, held *batch, unstarted int, why string) error {
	slices.SortFunc(failures, func(a, b chunkFailure) int { return a.from - b.from })
	var pe *PublishError
	if !errors.As(failures[0].err, &pe) {
		return failures[0].err
	}
	known := map[string]bool{}
	for _, c := range pe.Causes {
		known[c.Error()] = true
	}
	for _, f := range failures[1:] {
		var more *PublishError
		if !errors.As(f.err, &more) {
			return f.err
		}
		pe.Failures = append(pe.Failures, more.Failures...)
		for _, c := range more.Causes {
			if !known[c.Error()] {
				known[c.Error()] = true
				pe.Causes = append(pe.Causes, c)
			}
		}
	}
	cause := errors.New(why)
	n := w.source.Len()
	for at := unstarted; at < n; at += w.p.chunkEvents {
		for _, e := range w.source.Slice(at, min(at+w.p.chunkEvents, n)) {
			pe.Failures = append(pe.Failures, Failure{Topic: w.p.cfg.Topic, Key: e.Key(), ID: e.Head().EventID, Err: cause})
		}
	}
	for i := range held.msgs {
		pe.Failures = append(pe.Failures, failure(&held.msgs[i], cause))
	}
	if unstarted < n || len(held.msgs) > 0 {
		pe.Causes = append(pe.Causes, cause)
	}
	return pe
}

// encodeChunks encodes the events a chunk at a time into chunks, which it
// closes, until they are all encoded or ctx ends.
func (w *windowSend) encodeChunks(ctx context.Context, chunks chan<- encodedChunk) {
	defer close(chunks)
	n := w.source.Len()
	for from := 0; from < n; from += w.p.chunkEvents {
		to := min(from+w.p.chunkEvents, n)
		c := w.p.encodeChunk(w.source.Slice(from, to), &w.recycler)
		c.from, c.to = from, to
		select {
		case chunks <- c:
		case <-ctx.Done():
			return
		}
		if c.err != nil {
			return
		}
	}
}

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

// acked counts b's records as acknowledged.
func (w *windowSend) acked(b *batch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	counts := w.deadLetters
	if b.topic == w.p.cfg.Topic {
		counts = w.events
	}
	for _, label := range b.labels {
		counts[label]++
	}
}

// notSent adds to err, the PublishError of a batch that failed, the
// records of b, not sent because of it, with why.
func (w *windowSend) notSent(err error, b *batch, why string) error {
	var pe *PublishError
	if len(b.msgs) == 0 || !errors.As(err, &pe) {
		return err
	}
	cause := errors.New(why)
	pe.Causes = append(pe.Causes, cause)
	for i := range b.msgs {
		pe.Failures = append(pe.Failures, failure(&b.msgs[i], cause))
	}
	return pe
}

// splitWatermarks splits b into its events and the window_closed events
// that end it.
func splitWatermarks(b batch) (events, watermarks batch) {
	n := len(b.msgs)
	for n > 0 && b.labels[n-1] == schema.TypeWindowClosed {
		n--
	}
	return batch{topic: b.topic, msgs: b.msgs[:n], labels: b.labels[:n]},
		batch{topic: b.topic, msgs: b.msgs[n:], labels: b.labels[n:]}
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
			msgs[i] = kafka.Message{Topic: topic, Key: key, Value: value, Headers: headers.since(first)}
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
	// maxHeaders is the most headers a record has (schema's six
	// CloudEvents headers, a dead letter's reason).
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
	return message(p.settings.dlqTopic, encoded), nil
}

// message turns an encoded record into a kafka-go message for topic.
func message(topic string, m schema.Message) kafka.Message {
	headers := make([]kafka.Header, len(m.Headers))
	for i, h := range m.Headers {
		headers[i] = kafka.Header{Key: h.Key, Value: h.Value}
	}
	return kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: headers}
}

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

// send writes b, retrying what kafka-go does not retry, and returns a
// *PublishError unless every message was acknowledged.
func (p *Producer) send(ctx context.Context, b *batch, records int) error {
	// pending is a suffix of b.msgs: after a failure everything from the
	// first failed message on is sent again, also what was acknowledged
	// after it, so that the last copy of each key is in the original order.
	pending := b.msgs
	for attempt := 1; len(pending) > 0; attempt++ {
		err := p.writer.WriteMessages(ctx, pending...)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return p.outcomeUnknown(b.topic, pending, records, ctx.Err())
		}
		pe, first, wholeCall := p.failures(ctx, b.topic, pending, records, err)
		if len(pe.Failures) == 0 { // a WriteErrors whose entries are all nil
			return nil
		}
		if attempt == serviceAttempts || !allRetriable(pe.Causes, wholeCall) {
			return pe
		}
		delay := serviceFirstDelay << (attempt - 1)
		p.log.Warn().Err(pe).Int("attempt", attempt).Dur("retry_in", delay).Msg("kafka publish failed, retrying")
		if err := p.clock.Sleep(ctx, delay); err != nil {
			return p.outcomeUnknown(b.topic, pending, records, err)
		}
		// kafka-go keeps its cluster metadata and connections for up to
		// 6 s; dropping them makes the next attempt fetch fresh metadata
		// (a new leader) over fresh connections. Requests in flight keep
		// theirs until they end.
		p.transport.CloseIdleConnections()
		pending = pending[first:]
	}
	return nil
}

// failures turns what WriteMessages returned into a PublishError and the
// index of the first failed message. kafka.WriteErrors is indexed like the
// messages (and has no Unwrap); any other error (wholeCall) failed the
// whole call before anything was sent.
func (p *Producer) failures(ctx context.Context, topic string, msgs []kafka.Message, records int, err error) (pe *PublishError, first int, wholeCall bool) {
	pe = &PublishError{Records: records}
	// kafka-go gives every message of a failed batch the batch's error:
	// explain each distinct one once. Keyed by text, as not every error
	// value is comparable.
	explained := map[string]error{}
	cause := func(raw error) error {
		if e, ok := explained[raw.Error()]; ok {
			return e
		}
		e := p.explain(ctx, topic, raw)
		explained[raw.Error()] = e
		pe.Causes = append(pe.Causes, e)
		return e
	}
	var perMessage kafka.WriteErrors
	if !errors.As(err, &perMessage) || len(perMessage) != len(msgs) {
		e := cause(err)
		for i := range msgs {
			pe.Failures = append(pe.Failures, failure(&msgs[i], e))
		}
		return pe, 0, true
	}
	first = len(msgs)
	for i, raw := range perMessage {
		if raw == nil {
			continue
		}
		first = min(first, i)
		pe.Failures = append(pe.Failures, failure(&msgs[i], cause(raw)))
	}
	return pe, first, false
}

func (p *Producer) outcomeUnknown(topic string, msgs []kafka.Message, records int, ctxErr error) *PublishError {
	cause := fmt.Errorf("%w: %w before Kafka acknowledged every record of topic %q; some may be stored, publish them again",
		ErrOutcomeUnknown, ctxErr, topic)
	pe := &PublishError{Records: records, Causes: []error{cause}}
	for i := range msgs {
		pe.Failures = append(pe.Failures, failure(&msgs[i], cause))
	}
	return pe
}

func failure(m *kafka.Message, err error) Failure {
	f := Failure{Topic: m.Topic, Key: string(m.Key), Err: err}
	for _, h := range m.Headers {
		if h.Key == "ce_id" {
			f.ID = string(h.Value)
		}
	}
	return f
}

func allRetriable(causes []error, wholeCall bool) bool {
	for _, c := range causes {
		if !retriable(c, wholeCall) {
			return false
		}
	}
	return len(causes) > 0
}

func (p *Producer) countSuccess(w *windowSend, took time.Duration) {
	if p.metrics == nil {
		return
	}
	p.metrics.PublishSeconds.Observe(took.Seconds())
	for reason, n := range w.deadLetters {
		p.metrics.DeadLetters.WithLabelValues(reason).Add(float64(n))
	}
	for eventType, n := range w.events {
		p.metrics.Events.WithLabelValues(eventType).Add(float64(n))
	}
}

func (p *Producer) countFailure() {
	if p.metrics != nil {
		p.metrics.PublishErrors.Inc()
	}
}
