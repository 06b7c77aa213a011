package producer

import (
	"errors"

	"github.com/segmentio/kafka-go"

	"github.com/skill6pub/skill6pub/schema"
)

// NewBareWriter returns a kafka-go Writer with exactly the settings New gives
// the producer's, on its own transport: the benchmark's ceiling. Close it
// and then its transport's idle connections.
func NewBareWriter(cfg Config) (*kafka.Writer, *kafka.Transport, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, nil, err
	}
	transport := newTransport(cfg, s, s.sasl)
	return newWriter(cfg, s, transport, nil), transport, nil
}

// EncodeAll is Publish's encoding step, for the benchmark.
func EncodeAll(topic string, events []schema.Event) error {
	_, errs := encodeAll(topic, events)
	return errors.Join(errs...)
}
