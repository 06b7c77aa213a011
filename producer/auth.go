package producer

import (
	"context"
	"sync/atomic"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// authRejected tells a rejected SASL exchange from a network failure when
// all kafka-go says is "unexpected EOF": it opens one fresh connection whose
// mechanism records whether the exchange started and whether it completed.
// Started but never completed means the broker hung up on our credentials.
// It runs only on an error path, and only when SASL is configured.
func (p *Producer) authRejected(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	watch := &watchedMechanism{Mechanism: p.settings.sasl}
	transport := newTransport(p.cfg, p.settings, watch)
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(p.settings.brokers...), Transport: transport, Timeout: p.cfg.RequestTimeout}
	_, err := client.ApiVersions(ctx, &kafka.ApiVersionsRequest{})
	return err != nil && watch.started.Load() && !watch.completed.Load()
}

// watchedMechanism is a SASL mechanism that records how far its exchanges
// got.
type watchedMechanism struct {
	sasl.Mechanism
	started   atomic.Bool
	completed atomic.Bool
}

func (m *watchedMechanism) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	m.started.Store(true)
	session, initial, err := m.Mechanism.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	return &watchedSession{StateMachine: session, mechanism: m}, initial, nil
}

type watchedSession struct {
	sasl.StateMachine
	mechanism *watchedMechanism
}

func (s *watchedSession) Next(ctx context.Context, challenge []byte) (bool, []byte, error) {
	done, response, err := s.StateMachine.Next(ctx, challenge)
	if done && err == nil {
		s.mechanism.completed.Store(true)
	}
	return done, response, err
}
