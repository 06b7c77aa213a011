package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/snapshot"
)

// sameMessage fails unless got is what Encode makes of e, header for
// header, and its value is what encoding/json makes of e.
func sameMessage(t *testing.T, e schema.Event, got schema.Message) {
	t.Helper()
	want, err := schema.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	reference, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Value, want.Value) || !bytes.Equal(got.Value, reference) {
		t.Fatalf("%s: Encoder's value differs:\n got %s\nwant %s", e.Head().EventID, got.Value, want.Value)
	}
	if !bytes.Equal(got.Key, want.Key) {
		t.Fatalf("%s: Encoder's key %s, want %s", e.Head().EventID, got.Key, want.Key)
	}
	if len(got.Headers) != len(want.Headers) {
		t.Fatalf("%s: Encoder's headers %v, want %v", e.Head().EventID, got.Headers, want.Headers)
	}
	for i, h := range want.Headers {
		if got.Headers[i].Key != h.Key || !bytes.Equal(got.Headers[i].Value, h.Value) {
			t.Fatalf("%s: Encoder's header %d is %s: %s, want %s: %s", e.Head().EventID, i,
				got.Headers[i].Key, got.Headers[i].Value, h.Key, h.Value)
		}
	}
}

// encodeAll encodes events with one Encoder, and with EncodeTo of
// another, and compares the messages only once all are encoded, so that a
// message overwritten by a later one is caught.
func encodeAll(t *testing.T, enc *schema.Encoder, events []schema.Event) {
	t.Helper()
	var encTo schema.Encoder
	msgs := make([]schema.Message, len(events))
	msgsTo := make([]schema.Message, len(events))
	for i, e := range events {
		var err error
		if msgs[i], err = enc.Encode(e); err != nil {
			t.Fatal(err)
		}
		m := &msgsTo[i]
		if m.Key, m.Value, err = encTo.EncodeTo(e, func(key string, value []byte) {
			m.Headers = append(m.Headers, schema.Header{Key: key, Value: value})
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range events {
		sameMessage(t, e, msgs[i])
		sameMessage(t, e, msgsTo[i])
	}
}

// TestEncoderMatchesEncode runs chains of random windows (pseudonymized
// or not, revisions included) through Diff and Revise and encodes every
// event of every window with one Encoder: each window changes the shared
// parts, which must not leak into the next.
func TestEncoderMatchesEncode(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var enc schema.Encoder
	var all []schema.Event
	revisions := 0
	for chain := range 6 {
		var hasher *schema.DNISHasher
		if chain%2 == 1 {
			hasher = schema.NewDNISHasher(secret.New("key " + strconv.Itoa(chain)))
		}
		start := time.Date(2025, 3, 9, 0, 0, 0, 0, bogota)
		var prev *snapshot.Snapshot
		for range 6 {
			out := snapshot.Diff(prev, randomWindow(r, start, hasher))
			events := out.Events.Slice(0, out.Events.Len())
			published := out.Snapshot
			if revised, changed := snapshot.Revise(published, randomWindow(r, start, hasher)); changed {
				events = append(events, revised.Events.Slice(0, revised.Events.Len())...)
				published = revised.Snapshot
				revisions++
			}
			all = append(all, events...)
			prev = &published
			start = start.Add(5 * time.Minute)
		}
	}
	if revisions == 0 {
		t.Fatal("no revision generated: the test covers less than it claims")
	}
	encodeAll(t, &enc, all)
	// The same events again, interleaved from the two ends, so that
	// consecutive events seldom share a window.
	var mixed []schema.Event
	for i, j := 0, len(all)-1; i <= j; i, j = i+1, j-1 {
		mixed = append(mixed, all[i], all[j])
	}
	encodeAll(t, &enc, mixed)
}

// TestEncoderNoticesEveryEnvelopeChange alternates an event with copies
// that differ in one shared field of the envelope each, including times
// that are the same instant at another offset.
func TestEncoderNoticesEveryEnvelopeChange(t *testing.T) {
	variants := map[string]func(*schema.Envelope){
		"operation":             func(h *schema.Envelope) { h.Operation = "0033" },
		"skill":                 func(h *schema.Envelope) { h.SkillID = "13" },
		"skill to escape":       func(h *schema.Envelope) { h.SkillID = "a/b <c>" },
		"window start":          func(h *schema.Envelope) { h.WindowStart = h.WindowStart.Add(-5 * time.Minute) },
		"window end":            func(h *schema.Envelope) { h.WindowEnd = h.WindowEnd.Add(time.Nanosecond) },
		"window end in UTC":     func(h *schema.Envelope) { h.WindowEnd = h.WindowEnd.UTC() },
		"window start +05:30":   func(h *schema.Envelope) { h.WindowStart = h.WindowStart.In(time.FixedZone("IST", 5*3600+1800)) },
		"same offset, new zone": func(h *schema.Envelope) { h.WindowStart = h.WindowStart.In(time.FixedZone("EST", -5*3600)) },
		"revision":              func(h *schema.Envelope) { h.Revision = 3 },
		"fetched a bit later":   func(h *schema.Envelope) { h.FetchedAt = schema.MilliOf(h.FetchedAt.Add(time.Millisecond)) },
		"fetched at, in UTC":    func(h *schema.Envelope) { h.FetchedAt = schema.MilliOf(h.FetchedAt.UTC()) },
		"producer name":         func(h *schema.Envelope) { h.Producer.Name = "other" },
		"producer version":      func(h *schema.Envelope) { h.Producer.Version = "1.0.1" },
		"producer to escape":    func(h *schema.Envelope) { h.Producer.Version = "1.0.0</script>" },
		"event id only":         func(h *schema.Envelope) { h.EventID = strings.Repeat("f", 32) },
		"fetched in year 10000": func(h *schema.Envelope) { h.FetchedAt = schema.MilliOf(h.FetchedAt.AddDate(7975, 0, 0)) },
	}
	var enc schema.Encoder
	for name, change := range variants {
		for _, base := range []schema.Event{sampleDNISWindow(), sampleDNISGone(), sampleWindowClosed()} {
			// Each event type keeps its own copy of the envelope.
			other := copyEvent(base)
			change(other.Head())
			for _, e := range []schema.Event{base, other, base, other, other} {
				got, err := enc.Encode(e)
				if e.Head().FetchedAt.Year() > 9999 {
					if err == nil {
						t.Errorf("%s: year %d encoded", name, e.Head().FetchedAt.Year())
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				sameMessage(t, e, got)
			}
		}
	}
}

// copyEvent returns a copy of e that can be changed without changing e.
func copyEvent(e schema.Event) schema.Event {
	switch e := e.(type) {
	case *schema.DNISWindow:
		c := *e
		return &c
	case *schema.DNISGone:
		c := *e
		return &c
	case *schema.WindowClosed:
		c := *e
		return &c
	}
	panic("unknown event type")
}

// TestEncoderMessagesAreCapped: the messages of an Encoder share buffers;
// appending to one (its value, key, header values or headers) must leave
// the others as they were.
func TestEncoderMessagesAreCapped(t *testing.T) {
	var enc schema.Encoder
	first, second := sampleDNISWindow(), sampleDNISGone()
	a, err := enc.Encode(first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := enc.Encode(second)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(a.Value, "garbage"...)
	_ = append(a.Key, "garbage"...)
	for _, h := range a.Headers {
		_ = append(h.Value, "garbage"...)
	}
	_ = append(a.Headers, schema.Header{Key: "garbage", Value: []byte("garbage")})
	sameMessage(t, second, b)
	c, err := enc.Encode(first)
	if err != nil {
		t.Fatal(err)
	}
	sameMessage(t, first, c)
	sameMessage(t, first, a)
}

// TestEncoderAfterErrors: an event that fails (a NaN, an invalid envelope,
// a time RFC 3339 cannot hold) leaves the Encoder usable, and its partial
// output does not show in the messages around it.
func TestEncoderAfterErrors(t *testing.T) {
	nan := sampleDNISWindow()
	nan.Delta.ATASeconds = schema.FloatOf(math.NaN())
	noID := sampleDNISGone()
	noID.EventID = ""
	farFuture := sampleWindowClosed()
	farFuture.WindowEnd = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	wrongType := sampleDNISWindow()
	wrongType.EventType = schema.TypeWindowClosed

	cases := []struct {
		event schema.Event
		fails bool
	}{
		{sampleDNISWindow(), false}, {nan, true}, {sampleDNISGone(), false}, {noID, true},
		{sampleWindowClosed(), false}, {farFuture, true}, {sampleDNISWindow(), false}, {wrongType, true},
		{sampleDNISGone(), false},
	}
	var enc schema.Encoder
	msgs := make([]schema.Message, len(cases))
	for i, c := range cases {
		var err error
		msgs[i], err = enc.Encode(c.event)
		var ee *schema.EncodeError
		switch {
		case !c.fails && err != nil:
			t.Fatalf("event %d: %v", i, err)
		case c.fails && (!errors.As(err, &ee) || ee.ID != c.event.Head().EventID):
			t.Errorf("event %d: error %v, want an *EncodeError for %q", i, err, c.event.Head().EventID)
		}
	}
	for i, c := range cases {
		if !c.fails {
			sameMessage(t, c.event, msgs[i])
		}
	}
}

// TestEncoderLargeEvents: events and windows larger than the room an
// Encoder keeps for them are encoded all the same, and the messages after
// them too.
func TestEncoderLargeEvents(t *testing.T) {
	huge := sampleDNISWindow()
	huge.DNIS = strings.Repeat("5", 70_000) // larger than a whole buffer
	longProducer := sampleDNISGone()
	longProducer.Producer.Version = strings.Repeat("v", 2_000)
	big := sampleDNISWindow()
	big.DNIS = strings.Repeat("7", 1_000)
	var events []schema.Event
	for range 100 {
		events = append(events, sampleDNISWindow(), huge, longProducer, big, sampleWindowClosed())
	}
	encodeAll(t, new(schema.Encoder), events)
}

// TestEncoderAllocatesPerBuffer: the point of an Encoder is to cut many
// messages from one allocation.
func TestEncoderAllocatesPerBuffer(t *testing.T) {
	events := make([]schema.Event, 1_000)
	for i := range events {
		e := sampleDNISWindow()
		e.DNIS = strconv.Itoa(573_000_000_000 + i)
		events[i] = e
	}
	allocs := testing.AllocsPerRun(5, func() {
		var enc schema.Encoder
		for _, e := range events {
			if _, err := enc.Encode(e); err != nil {
				t.Fatal(err)
			}
		}
	})
	// About 1.1 KB per event in 64 KiB buffers, 6 headers per event in
	// slabs of 384: under 40 allocations, against 2,000 with Encode.
	if allocs > 60 {
		t.Errorf("%v allocations for 1,000 events", allocs)
	}
}

// TestEncoderCutsMessagesFromBufferWhenSet hands the Encoder dirty buffers
// through Buffer: the messages must be the same as Encode's (nothing stale
// shows), and cut from those buffers.
func TestEncoderCutsMessagesFromBufferWhenSet(t *testing.T) {
	// Enough dnis_window events for several buffers of 64 KiB.
	var events []schema.Event
	for i := range 200 {
		e := *sampleDNISWindow()
		e.EventID = fmt.Sprintf("%s-%d", e.EventID, i)
		e.DNIS = fmt.Sprintf("57300%07d", i)
		events = append(events, &e)
	}
	var handed [][]byte
	enc := schema.Encoder{Buffer: func(minCap int) []byte {
		b := bytes.Repeat([]byte{'#'}, minCap)
		handed = append(handed, b)
		return b[:0]
	}}
	msgs := make([]schema.Message, len(events))
	for i, e := range events {
		var err error
		if msgs[i], err = enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	if len(handed) < 2 {
		t.Fatalf("the Encoder called Buffer %d times for 200 events, want several", len(handed))
	}
	within := func(part []byte) bool {
		at := uintptr(unsafe.Pointer(unsafe.SliceData(part)))
		for _, b := range handed {
			if start := uintptr(unsafe.Pointer(unsafe.SliceData(b))); at >= start && at < start+uintptr(len(b)) {
				return true
			}
		}
		return false
	}
	for i, e := range events {
		sameMessage(t, e, msgs[i])
		if !within(msgs[i].Value) || !within(msgs[i].Key) {
			t.Fatalf("%s: key or value not cut from a buffer Buffer handed out", e.Head().EventID)
		}
	}
}
