package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// ContentType is the content-type header of every record.
const ContentType = "application/json"

// ErrInvalidEvent is wrapped by Encode's error when an event's envelope
// contradicts its type or lacks its id: a bug of the code that built it.
var ErrInvalidEvent = errors.New("invalid event")

// EncodeError is the error of Encode and EncodeDeadLetter. It names the
// record but carries none of its content, so it is safe to log.
type EncodeError struct {
	ID  string // event_id or dead_letter_id
	Err error  // ErrInvalidEvent, or the JSON encoder's error (errors.Is ErrNotFinite)
}

func (e *EncodeError) Error() string { return "encode " + e.ID + ": " + e.Err.Error() }

func (e *EncodeError) Unwrap() error { return e.Err }

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Message is an event encoded for Kafka: key, JSON value and CloudEvents
// binary-mode headers.
type Message struct {
	Key     []byte
	Value   []byte
	Headers []Header
}

// Key returns {operation}:{skill_id}:{dnis}.
func (e *DNISWindow) Key() string { return e.Operation + ":" + e.SkillID + ":" + e.DNIS }

// Key returns {operation}:{skill_id}:{dnis}.
func (e *DNISGone) Key() string { return e.Operation + ":" + e.SkillID + ":" + e.DNIS }

// Key returns {operation}:{skill_id}.
func (e *WindowClosed) Key() string { return e.Operation + ":" + e.SkillID }

// Encode turns an event into a Kafka message: its key, its JSON (RFC 3339
// times with the offset they carry, null for missing values) and the
// CloudEvents headers described in the package documentation. The error is
// an *EncodeError.
func Encode(e Event) (Message, error) {
	h := e.Head()
	if err := checkEnvelope(e, h); err != nil {
		return Message{}, &EncodeError{ID: h.EventID, Err: err}
	}
	// One buffer holds the value, the key and the header values: a window
	// of 100,000 rows is encoded with two allocations per event.
	buf, err := appendEvent(make([]byte, 0, encodeBufferSize), e)
	if err != nil {
		return Message{}, &EncodeError{ID: h.EventID, Err: err}
	}
	valueEnd := len(buf)
	buf = append(buf, h.Operation...)
	buf = append(buf, ':')
	buf = append(buf, h.SkillID...)
	if dnis, ok := dnisOf(e); ok {
		buf = append(buf, ':')
		buf = append(buf, dnis...)
	}
	return layOut(buf, valueEnd, h.EventID, h.EventType, h.Operation, h.SkillID, h.WindowEnd, nil), nil
}

// encodeBufferSize fits a dnis_window with a pseudonymized DNIS, its key
// and headers (about 1,100 bytes), so that the buffer is not grown.
const encodeBufferSize = 1280

func dnisOf(e Event) (string, bool) {
	switch e := e.(type) {
	case *DNISWindow:
		return e.DNIS, true
	case *DNISGone:
		return e.DNIS, true
	}
	return "", false
}

// appendEvent appends the JSON of e.
func appendEvent(b []byte, e Event) ([]byte, error) {
	switch e := e.(type) {
	case *DNISWindow:
		return appendDNISWindow(b, e)
	case *DNISGone:
		return appendDNISGone(b, e)
	case *WindowClosed:
		return appendWindowClosed(b, e)
	}
	return b, fmt.Errorf("%w: %T is not an event type of this schema", ErrInvalidEvent, e)
}

// checkEnvelope catches events put together by hand with the wrong type or
// without an id; they would be routed or deduplicated wrongly downstream.
func checkEnvelope(e Event, h *Envelope) error {
	var want string
	switch e.(type) {
	case *DNISWindow:
		want = TypeDNISWindow
	case *DNISGone:
		want = TypeDNISGone
	case *WindowClosed:
		want = TypeWindowClosed
	}
	switch {
	case h.EventType != want:
		return fmt.Errorf("%w: event_type %q on a %T", ErrInvalidEvent, h.EventType, e)
	case h.EventID == "":
		return fmt.Errorf("%w: empty event_id", ErrInvalidEvent)
	case h.SchemaVersion != Version:
		return fmt.Errorf("%w: schema_version %d, this build writes %d", ErrInvalidEvent, h.SchemaVersion, Version)
	}
	return nil
}

// EncodeDeadLetter turns a dead letter into a Kafka message keyed like the
// window it belongs to, with the same CloudEvents headers as events (ce_type
// com.github.skill6pub.dead_letter.v1) and a "reason" header. The error is
// an *EncodeError.
func EncodeDeadLetter(d DeadLetter) (Message, error) {
	value, err := json.Marshal(d)
	if err != nil {
		return Message{}, &EncodeError{ID: d.DeadLetterID, Err: err}
	}
	buf := append(value, d.Operation...)
	buf = append(buf, ':')
	buf = append(buf, d.SkillID...)
	return layOut(buf, len(value), d.DeadLetterID, TypeDeadLetter, d.Operation, d.SkillID, d.WindowEnd, &d.Reason), nil
}

// CloudEventType returns the ce_type header of a record type.
func CloudEventType(recordType string) string { return string(appendCloudEventType(nil, recordType)) }

// CloudEventSource returns the ce_source header: the report of one skill of
// one operation.
func CloudEventSource(operation, skillID string) string {
	return string(appendCloudEventSource(nil, operation, skillID))
}

func appendCloudEventType(b []byte, recordType string) []byte {
	b = append(b, "com.github.skill6pub."...)
	b = append(b, recordType...)
	b = append(b, ".v"...)
	return strconv.AppendInt(b, Version, 10)
}

func appendCloudEventSource(b []byte, operation, skillID string) []byte {
	b = append(b, "/wolkvox/"...)
	b = appendPathSegment(b, operation)
	b = append(b, "/skill_6/"...)
	return appendPathSegment(b, skillID)
}

// appendPathSegment escapes s like url.PathEscape, without allocating for
// the usual digits and letters.
func appendPathSegment(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return append(b, url.PathEscape(s)...)
		}
	}
	return append(b, s...)
}

// layOut appends the header values to buf, which holds the value up to
// valueEnd and then the key, and slices the message out of it. reason, when
// not nil, adds the dead letter's "reason" header.
func layOut(buf []byte, valueEnd int, id, recordType, operation, skillID string, windowEnd time.Time, reason *string) Message {
	keyEnd := len(buf)
	var ends [7]int
	buf = append(buf, "1.0"...)
	ends[0] = len(buf)
	buf = append(buf, id...)
	ends[1] = len(buf)
	buf = appendCloudEventType(buf, recordType)
	ends[2] = len(buf)
	buf = appendCloudEventSource(buf, operation, skillID)
	ends[3] = len(buf)
	buf = windowEnd.AppendFormat(buf, time.RFC3339Nano)
	ends[4] = len(buf)
	buf = append(buf, ContentType...)
	ends[5] = len(buf)
	names := []string{"ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "content-type"}
	if reason != nil {
		buf = append(buf, *reason...)
		ends[6] = len(buf)
		names = append(names, "reason")
	}
	// Three-index slices: appending to one part can never overwrite the next.
	headers := make([]Header, len(names))
	from := keyEnd
	for i, name := range names {
		headers[i] = Header{Key: name, Value: buf[from:ends[i]:ends[i]]}
		from = ends[i]
	}
	return Message{Key: buf[valueEnd:keyEnd:keyEnd], Value: buf[:valueEnd:valueEnd], Headers: headers}
}
