package producer

import (
	"sync"

	"github.com/segmentio/kafka-go"
)

// chunkMemory is the memory one chunk's records are encoded into: their
// kafka-go messages and their metric labels, the schema.Encoder buffers
// their keys and values are cut from, and the slabs of their headers.
type chunkMemory struct {
	msgs    []kafka.Message
	labels  []string
	buffers [][]byte
	slabs   [][]kafka.Header
}

// recycler hands the memory of a window's acknowledged chunks to the
// chunks encoded after them. Allocated afresh, the chunks' memory was a
// large share of what Publish allocated and caused as many more garbage
// collections, each marking all the process holds (BENCHMARKS.md,
// producer). A recycler lives
// for one Publish: nothing is held between windows, and within a window
// what it holds is at most the chunks acknowledged and not yet taken
// again by the encoder, which is one chunk ahead of the sending.
//
// Only the memory of a chunk whose every record is acknowledged is
// released: once WriteMessages has returned nil, kafka-go no longer reads
// the messages it was given. A chunk that failed, or whose outcome is
// unknown, may still be in kafka-go's hands and is left to the garbage
// collector.
type recycler struct {
	mu    sync.Mutex
	spare chunkMemory // released, not yet taken again
}

// messages gives the chunk into n messages, whose content is stale (the
// caller sets each), and room for n labels.
func (r *recycler) messages(into *chunkMemory, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cap(r.spare.msgs) >= n && cap(r.spare.labels) >= n {
		into.msgs, into.labels = r.spare.msgs[:n], r.spare.labels[:0]
		r.spare.msgs, r.spare.labels = nil, nil
		return
	}
	into.msgs, into.labels = make([]kafka.Message, n), make([]string, 0, n)
}

// buffer is schema.Encoder's Buffer for the chunk into: an empty buffer of at
// least minCap bytes of capacity.
func (r *recycler) buffer(into *chunkMemory, minCap int) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b []byte
	if last := len(r.spare.buffers) - 1; last >= 0 && cap(r.spare.buffers[last]) >= minCap {
		b = r.spare.buffers[last][:0]
		r.spare.buffers = r.spare.buffers[:last]
	} else {
		b = make([]byte, 0, minCap)
	}
	into.buffers = append(into.buffers, b)
	return b
}

// slab returns an empty header slab of headerSlabSize for the chunk into.
func (r *recycler) slab(into *chunkMemory) []kafka.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []kafka.Header
	if last := len(r.spare.slabs) - 1; last >= 0 {
		s = r.spare.slabs[last][:0]
		r.spare.slabs = r.spare.slabs[:last]
	} else {
		s = make([]kafka.Header, 0, headerSlabSize)
	}
	into.slabs = append(into.slabs, s)
	return s
}

// release makes the memory of an acknowledged chunk available again. The
// chunk's messages must no longer be used.
func (r *recycler) release(m *chunkMemory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cap(m.msgs) > cap(r.spare.msgs) {
		r.spare.msgs, r.spare.labels = m.msgs, m.labels
	}
	r.spare.buffers = append(r.spare.buffers, m.buffers...)
	r.spare.slabs = append(r.spare.slabs, m.slabs...)
	*m = chunkMemory{}
}
