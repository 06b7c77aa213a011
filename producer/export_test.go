package producer

import (
	"errors"

	"github.com/skill6pub/skill6pub/schema"
)

// EncodeAll is Publish's encoding step, for the benchmark.
func EncodeAll(topic string, events []schema.Event) error {
	_, failures := encodeAll(topic, events, &recycler{}, &chunkMemory{})
	errs := make([]error, len(failures))
	for i, f := range failures {
		errs[i] = f.err
	}
	return errors.Join(errs...)
}

// WithChunkEvents makes Publish encode and send n events at a time, so that
// tests cross chunk boundaries with small windows.
func WithChunkEvents(n int) Option { return func(p *Producer) { p.chunkEvents = n } }

// ChunksInFlight is how many chunks Publish sends at once.
const ChunksInFlight = chunksInFlight
