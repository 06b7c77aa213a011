package producer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
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
