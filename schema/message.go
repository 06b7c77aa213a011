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
	value, err := json.Marshal(e)
	if err != nil {
		return Message{}, &EncodeError{ID: h.EventID, Err: err}
	}
	return Message{
		Key:     []byte(e.Key()),
		Value:   value,
		Headers: cloudEventHeaders(h.EventID, h.EventType, h.Operation, h.SkillID, h.WindowEnd, nil),
	}, nil
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
	return Message{
		Key:     []byte(d.Operation + ":" + d.SkillID),
		Value:   value,
		Headers: cloudEventHeaders(d.DeadLetterID, TypeDeadLetter, d.Operation, d.SkillID, d.WindowEnd, &Header{Key: "reason", Value: []byte(d.Reason)}),
	}, nil
}

// CloudEventType returns the ce_type header of a record type.
func CloudEventType(recordType string) string {
	return "com.github.skill6pub." + recordType + ".v" + strconv.Itoa(Version)
}

// CloudEventSource returns the ce_source header: the report of one skill of
// one operation.
func CloudEventSource(operation, skillID string) string {
	return "/wolkvox/" + url.PathEscape(operation) + "/skill_6/" + url.PathEscape(skillID)
}

func cloudEventHeaders(id, recordType, operation, skillID string, windowEnd time.Time, extra *Header) []Header {
	headers := make([]Header, 6, 7)
	headers[0] = Header{Key: "ce_specversion", Value: []byte("1.0")}
	headers[1] = Header{Key: "ce_id", Value: []byte(id)}
	headers[2] = Header{Key: "ce_type", Value: []byte(CloudEventType(recordType))}
	headers[3] = Header{Key: "ce_source", Value: []byte(CloudEventSource(operation, skillID))}
	headers[4] = Header{Key: "ce_time", Value: windowEnd.AppendFormat(nil, time.RFC3339Nano)}
	headers[5] = Header{Key: "content-type", Value: []byte(ContentType)}
	if extra != nil {
		headers = append(headers, *extra)
	}
	return headers
}
