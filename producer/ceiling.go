package producer

import "github.com/segmentio/kafka-go"

// NewCeilingWriter returns a kafka-go Writer with exactly the settings New
// gives the Producer's writer, on a transport of its own and without the
// error logger: what benchmarks (cmd/skill6bench) measure the pipeline
// against, by publishing pre-encoded messages through it. Close the writer,
// then the transport's idle connections.
func NewCeilingWriter(cfg Config) (*kafka.Writer, *kafka.Transport, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, nil, err
	}
	transport := newTransport(cfg, s, s.sasl)
	return newWriter(cfg, s, transport, nil), transport, nil
}
