package schema

import "time"

// Encoder encodes events exactly as [Encode] does, with about half the CPU
// for the events of a window: what they all share (the envelope's members
// from operation to producer, the key's {operation}:{skill_id} and the
// CloudEvents header values but ce_id and ce_type) is formatted once per
// window and revision and copied, and the messages are cut from buffers of
// 64 KiB instead of costing two allocations each (1,170 bytes allocated
// per event of the benchmark instead of 1,520). Formatting the envelope's
// three times and ce_time was a fifth of Encode's CPU, the garbage
// collector about as much (BENCHMARKS.md, "schema").
//
// The zero Encoder is ready to use. An Encoder is not safe for concurrent
// use: give each goroutine its own, for instance one per contiguous range of
// a window's events. Encoding events of different windows one after the
// other with the same Encoder is correct, only slower when they alternate.
//
// The messages of one Encoder share memory: a buffer holds the values and
// keys of many messages, and every message of a window points to the same
// header values. The messages must therefore be treated as read-only (the
// slices are capped, so that appending to one copies it), and one message
// kept alone keeps its whole buffer alive.
type Encoder struct {
	// Buffer, when set, supplies the buffers messages are cut from, instead
	// of a new allocation each: an empty slice of at least minCap bytes of
	// capacity. A caller that knows when every message cut from a buffer is
	// no longer used can hand the buffer out again.
	Buffer func(minCap int) []byte

	window      window // what the last envelope shares with the next ones
	windowKnown bool   // window was formatted from the last envelope
	// ceTypes and dataSchemas are the ce_type and ce_dataschema header
	// values, formatted on first use.
	ceTypes, dataSchemas [recordKinds][]byte
	// buffer holds the encoded bytes; its free capacity is what later
	// messages are cut from.
	buffer  []byte
	headers []Header // the same for the headers
	// bufferSize and headerSlots size the buffers; zero means the defaults.
	// Encode and EncodeDeadLetter size them for one message.
	bufferSize, headerSlots int
}

const (
	// defaultBufferSize holds about 60 dnis_window events: few enough
	// allocations that they cost little, small enough that the space left
	// at the end of each buffer (under messageRoom) wastes little.
	defaultBufferSize = 64 << 10
	// defaultHeaderSlots holds the headers of about as many events.
	defaultHeaderSlots = 64 * ceHeaders
	// messageRoom is the free space a message is encoded into without
	// growing it: a dnis_window with previous, delta, a pseudonymized DNIS
	// and every metric, its key and its id take about 1,200 bytes. A larger
	// event is still encoded, in an allocation of its own.
	messageRoom = 1280
	// windowRoom is the same for a window's shared parts (about 400 bytes).
	windowRoom = 512
	// ceTypeRoom is the same for a ce_type (about 35 bytes) and a
	// ce_dataschema (about 95).
	ceTypeRoom = 128
	// ceHeaders is the number of CloudEvents headers of a record.
	ceHeaders = 8
)

// Encode turns an event into a Kafka message, byte for byte what the
// function [Encode] returns. The error is an *EncodeError; after an error
// the Encoder is still usable.
func (enc *Encoder) Encode(e Event) (Message, error) {
	r, err := enc.encode(e)
	if err != nil {
		return Message{}, err
	}
	return Message{Key: r.key, Value: r.value, Headers: enc.headersOf(r.window, r.ceType, r.id, r.subject, r.dataSchema)}, nil
}

// EncodeTo is Encode for a caller that keeps headers in a type of its own
// (a Kafka client's): it hands each header to header, in Encode's order,
// instead of returning them, which spares building headers the caller
// would copy. key and value are read-only, like Encode's.
func (enc *Encoder) EncodeTo(e Event, header func(key string, value []byte)) (key, value []byte, err error) {
	r, err := enc.encode(e)
	if err != nil {
		return nil, nil, err
	}
	for i, v := range r.window.ceHeaderValues(r.ceType, r.id, r.subject, r.dataSchema) {
		header(ceHeaderNames[i], v)
	}
	return r.key, r.value, nil
}

// encoded is one record: its key and value, and what its headers are made of.
type encoded struct {
	key, value, id, ceType, subject, dataSchema []byte
	window                                      *window
}

func (enc *Encoder) encode(e Event) (encoded, error) {
	h := e.Head()
	kind, err := checkEnvelope(e, h)
	if err != nil {
		return encoded{}, &EncodeError{ID: h.EventID, Err: err}
	}
	w, err := enc.windowOf(h)
	if err != nil {
		return encoded{}, &EncodeError{ID: h.EventID, Err: err}
	}
	b, err := appendEvent(enc.room(messageRoom), e, w.members)
	if err != nil {
		return encoded{}, &EncodeError{ID: h.EventID, Err: err}
	}
	valueEnd := len(b)
	b = append(b, w.key...)
	subject := w.subject
	if dnis, ok := dnisOf(e); ok {
		b = append(b, ':')
		b = append(b, dnis...)
		// The DNIS is the key's last part: ce_subject shares its bytes.
		subject = nil
	}
	keyEnd := len(b)
	b = append(b, h.EventID...)
	enc.keep(b)
	if subject == nil {
		subject = b[valueEnd+len(w.key)+1 : keyEnd : keyEnd]
	}
	// Three-index slices: appending to one part can never overwrite the next.
	return encoded{
		key:        b[valueEnd:keyEnd:keyEnd],
		value:      b[:valueEnd:valueEnd],
		id:         b[keyEnd:len(b):len(b)],
		ceType:     enc.ceType(kind),
		subject:    subject,
		dataSchema: enc.dataSchema(kind),
		window:     w,
	}, nil
}

// window is what every record of one window and revision shares, formatted
// once, and the envelope fields it was formatted from.
type window struct {
	operation, skillID                       string
	start, end, fetchedAt                    time.Time
	revision                                 int
	producer                                 Producer
	members                                  []byte // see appendWindowMembers
	key                                      []byte // {operation}:{skill_id}
	specVersion, source, ceTime, contentType []byte
	// subject is the ce_subject of the records about the whole window
	// (window_closed, dead letters): its start.
	subject []byte
}

// windowOf returns the shared parts of h's window, formatting them unless
// the last envelope had the same.
func (enc *Encoder) windowOf(h *Envelope) (*window, error) {
	if enc.windowKnown && enc.window.formattedFrom(h) {
		return &enc.window, nil
	}
	enc.windowKnown = false
	b, err := appendWindowMembers(enc.room(windowRoom), h)
	if err != nil {
		return nil, err
	}
	membersEnd := len(b)
	b = append(b, h.Operation...)
	b = append(b, ':')
	b = append(b, h.SkillID...)
	keyEnd := len(b)
	b = append(b, "1.0"...)
	specEnd := len(b)
	b = appendCloudEventSource(b, h.Operation, h.SkillID)
	sourceEnd := len(b)
	b = h.WindowEnd.AppendFormat(b, time.RFC3339Nano)
	timeEnd := len(b)
	b = append(b, ContentType...)
	typeEnd := len(b)
	b = h.WindowStart.AppendFormat(b, time.RFC3339Nano)
	enc.keep(b)
	enc.window = window{
		operation: h.Operation, skillID: h.SkillID, start: h.WindowStart, end: h.WindowEnd,
		fetchedAt: h.FetchedAt.Time, revision: h.Revision, producer: h.Producer,
		members:     b[:membersEnd:membersEnd],
		key:         b[membersEnd:keyEnd:keyEnd],
		specVersion: b[keyEnd:specEnd:specEnd],
		source:      b[specEnd:sourceEnd:sourceEnd],
		ceTime:      b[sourceEnd:timeEnd:timeEnd],
		contentType: b[timeEnd:typeEnd:typeEnd],
		subject:     b[typeEnd:len(b):len(b)],
	}
	enc.windowKnown = true
	return &enc.window, nil
}

// formattedFrom reports whether h's window, revision and producer are the
// ones w was formatted from.
func (w *window) formattedFrom(h *Envelope) bool {
	return h.Operation == w.operation && h.SkillID == w.skillID && h.Revision == w.revision &&
		h.Producer == w.producer &&
		sameRFC3339(h.WindowStart, w.start) && sameRFC3339(h.WindowEnd, w.end) && sameRFC3339(h.FetchedAt.Time, w.fetchedAt)
}

// sameRFC3339 reports whether a and b are written alike in RFC 3339: the
// same instant at the same offset. The times of one window share their
// Location, which spares looking the offsets up.
func sameRFC3339(a, b time.Time) bool {
	if !a.Equal(b) {
		return false
	}
	if a.Location() == b.Location() {
		return true
	}
	_, aOffset := a.Zone()
	_, bOffset := b.Zone()
	return aOffset == bOffset
}

// room returns an empty slice of the free capacity of the buffer, at least
// n bytes, to append a message to; keep then marks what was appended as
// used.
func (enc *Encoder) room(n int) []byte {
	if cap(enc.buffer)-len(enc.buffer) < n {
		size := enc.bufferSize
		if size == 0 {
			size = defaultBufferSize
		}
		if enc.Buffer != nil {
			enc.buffer = enc.Buffer(max(n, size))[:0]
		} else {
			enc.buffer = make([]byte, 0, max(n, size))
		}
	}
	return enc.buffer[len(enc.buffer):]
}

// keep marks b, appended to what room returned, as used, unless b outgrew
// the room and append moved it to an allocation of its own.
func (enc *Encoder) keep(b []byte) {
	if free := cap(enc.buffer) - len(enc.buffer); cap(b) == free {
		enc.buffer = enc.buffer[:len(enc.buffer)+len(b)]
	}
}

// ceType returns the ce_type header value of a kind of record.
func (enc *Encoder) ceType(kind recordKind) []byte {
	if enc.ceTypes[kind] == nil {
		b := appendCloudEventType(enc.room(ceTypeRoom), kind.recordType())
		enc.keep(b)
		enc.ceTypes[kind] = b[:len(b):len(b)]
	}
	return enc.ceTypes[kind]
}

// dataSchema returns the ce_dataschema header value of a kind of record.
func (enc *Encoder) dataSchema(kind recordKind) []byte {
	if enc.dataSchemas[kind] == nil {
		b := appendDataSchema(enc.room(ceTypeRoom), kind.recordType())
		enc.keep(b)
		enc.dataSchemas[kind] = b[:len(b):len(b)]
	}
	return enc.dataSchemas[kind]
}

// headersOf returns the CloudEvents headers of a record of w: the values
// are w's but for ceType, id, subject and dataSchema, then the extra
// headers.
func (enc *Encoder) headersOf(w *window, ceType, id, subject, dataSchema []byte, extra ...Header) []Header {
	n := ceHeaders + len(extra)
	if cap(enc.headers)-len(enc.headers) < n {
		slots := enc.headerSlots
		if slots == 0 {
			slots = defaultHeaderSlots
		}
		enc.headers = make([]Header, 0, max(n, slots))
	}
	from := len(enc.headers)
	enc.headers = enc.headers[:from+n]
	// Field by field: a whole Header or an append is copied with the
	// garbage collector's bulk write barrier, several times slower while
	// it marks.
	h := enc.headers[from : from+n : from+n]
	for i, v := range w.ceHeaderValues(ceType, id, subject, dataSchema) {
		h[i].Key = ceHeaderNames[i]
		h[i].Value = v
	}
	copy(h[ceHeaders:], extra)
	return h
}

// ceHeaderNames are the CloudEvents headers of every record, in order.
var ceHeaderNames = [ceHeaders]string{"ce_specversion", "ce_id", "ce_type", "ce_source", "ce_subject", "ce_time", "ce_dataschema", "content-type"}

// ceHeaderValues are the values of ceHeaderNames for a record of w.
func (w *window) ceHeaderValues(ceType, id, subject, dataSchema []byte) [ceHeaders][]byte {
	return [ceHeaders][]byte{w.specVersion, id, ceType, w.source, subject, w.ceTime, dataSchema, w.contentType}
}
