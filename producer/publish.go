package producer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/skill6pub/skill6pub/schema"
)

// defaultChunkEvents is how many events Publish builds, encodes and sends
// at a time. A large window's events, sent whole, would all be in memory,
// encoded, until the last record is acknowledged. 4,096 events with
// chunksInFlight of them sent at once publish as fast as 8,192 did and keep
// the peak memory of a 100,000-row window within its target (BENCHMARKS.md,
// figure 4).
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
	skill := deadLettersSkill(deadLetters)
	dlq := batch{topic: p.settings.dlqTopic}
	for _, d := range deadLetters {
		m, err := p.encodeDeadLetter(d)
		if err != nil {
			p.countFailure(skill)
			return err
		}
		dlq.add(m, reasonRejectedRow)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.WriteTimeout)
	defer cancel()
	w := windowSend{p: p, source: events, skill: skill, records: len(dlq.msgs) + events.Len(),
		events: map[string]int{}, deadLetters: map[string]int{}}
	// Dead letters first: a consumer that sees a window_closed counting
	// rejected rows finds those rows in the dead-letter topic already.
	if err := p.send(ctx, &dlq, w.records); err != nil {
		p.countFailure(skill)
		return w.failed([]chunkFailure{{err: err}}, &batch{}, 0, "events not sent: the window's dead letters were not acknowledged")
	}
	w.acked(&dlq)
	if err := w.sendEvents(ctx); err != nil {
		p.countFailure(w.skillName())
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
	skill   string     // the window's skill, the metrics' label; guarded by mu
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
		events := w.source.Slice(from, to)
		if from == 0 && len(events) > 0 {
			w.mu.Lock()
			w.skill = events[0].Head().SkillID
			w.mu.Unlock()
		}
		c := w.p.encodeChunk(events, &w.recycler)
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

func (p *Producer) countSuccess(w *windowSend, took time.Duration) {
	if p.metrics == nil {
		return
	}
	p.metrics.PublishSeconds.Observe(took.Seconds())
	for reason, n := range w.deadLetters {
		p.metrics.DeadLetters.WithLabelValues(w.skillName(), reason).Add(float64(n))
	}
	for eventType, n := range w.events {
		p.metrics.Events.WithLabelValues(w.skillName(), eventType).Add(float64(n))
	}
}

func (p *Producer) countFailure(skill string) {
	if p.metrics != nil {
		p.metrics.PublishErrors.WithLabelValues(skill).Inc()
	}
}

// deadLettersSkill returns the skill of one window's dead letters ("" for
// none): a Publish call is one window of one skill. The events' skill is
// taken from the first chunk as it is encoded (windowSend.skill): the
// events are asked for a chunk at a time, once each.
func deadLettersSkill(deadLetters []schema.DeadLetter) string {
	if len(deadLetters) > 0 {
		return deadLetters[0].SkillID
	}
	return ""
}

// skillName returns the window's skill, once known.
func (w *windowSend) skillName() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.skill
}
