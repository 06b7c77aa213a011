package producer

import (
	"testing"
	"unsafe"
)

// sameArray reports whether a and b start at the same element of one array.
func sameArray[T any](a, b []T) bool {
	return cap(a) > 0 && cap(b) > 0 && unsafe.SliceData(a[:1]) == unsafe.SliceData(b[:1])
}

func TestRecyclerHandsReleasedMemoryOn(t *testing.T) {
	var r recycler
	var first chunkMemory
	r.messages(&first, 100)
	buf := r.buffer(&first, 64<<10)
	slab := r.slab(&first)
	if len(first.msgs) != 100 || cap(first.labels) < 100 || len(first.labels) != 0 {
		t.Fatalf("messages: %d messages, labels %d of %d; want 100, 0 of >= 100", len(first.msgs), len(first.labels), cap(first.labels))
	}
	if len(first.buffers) != 1 || len(first.slabs) != 1 {
		t.Fatalf("the chunk's memory lists %d buffers and %d slabs, want 1 and 1", len(first.buffers), len(first.slabs))
	}
	msgs := first.msgs
	buf = append(buf, "stale"...)
	r.release(&first)
	if first.msgs != nil || first.buffers != nil || first.slabs != nil {
		t.Error("release left the chunk pointing at the memory it released")
	}

	var next chunkMemory
	r.messages(&next, 60)
	if !sameArray(next.msgs, msgs) || len(next.msgs) != 60 {
		t.Errorf("the next chunk's %d messages are not the released array", len(next.msgs))
	}
	if b := r.buffer(&next, 64<<10); !sameArray(b[:1], buf) || len(b) != 0 {
		t.Errorf("the next buffer (len %d) is not the released one, emptied", len(b))
	}
	if s := r.slab(&next); !sameArray(s[:1], slab[:1]) || len(s) != 0 {
		t.Errorf("the next slab (len %d) is not the released one, emptied", len(s))
	}
	if len(next.buffers) != 1 || len(next.slabs) != 1 {
		t.Errorf("the next chunk's memory lists %d buffers and %d slabs, want 1 and 1", len(next.buffers), len(next.slabs))
	}

	// Memory too small for what is asked is not handed out.
	r.release(&next)
	var larger chunkMemory
	r.messages(&larger, 200)
	if sameArray(larger.msgs, msgs) || len(larger.msgs) != 200 {
		t.Errorf("200 messages came from a released array of %d", cap(msgs))
	}
	if b := r.buffer(&larger, 128<<10); sameArray(b[:1], buf) || cap(b) < 128<<10 {
		t.Errorf("a buffer of at least 128 KiB came back with %d bytes", cap(b))
	}
}
