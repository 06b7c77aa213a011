package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
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
// an *EncodeError. To encode many events, an [Encoder] is cheaper.
func Encode(e Event) (Message, error) {
	// Two allocations: one buffer for the value, the key and the header
	// values, one for the headers.
	enc := Encoder{bufferSize: windowRoom + ceTypeRoom + messageRoom, headerSlots: ceHeaders}
	return enc.Encode(e)
}

func dnisOf(e Event) (string, bool) {
	switch e := e.(type) {
	case *DNISWindow:
		return e.DNIS, true
	case *DNISGone:
		return e.DNIS, true
	}
	return "", false
}

// appendEvent appends the JSON of e, whose envelope members after
// schema_version are windowMembers.
func appendEvent(b []byte, e Event, windowMembers []byte) ([]byte, error) {
	switch e := e.(type) {
	case *DNISWindow:
		return appendDNISWindow(b, e, windowMembers)
	case *DNISGone:
		return appendDNISGone(b, e, windowMembers)
	case *WindowClosed:
		return appendWindowClosed(b, e, windowMembers)
	}
	return b, fmt.Errorf("%w: %T is not an event type of this schema", ErrInvalidEvent, e)
}

// recordKind is a record type that has a ce_type.
type recordKind int

const (
	kindDNISWindow recordKind = iota
	kindDNISGone
	kindWindowClosed
	kindDeadLetter
	recordKinds // how many there are
)

func (k recordKind) recordType() string {
	switch k {
	case kindDNISWindow:
		return TypeDNISWindow
	case kindDNISGone:
		return TypeDNISGone
	case kindWindowClosed:
		return TypeWindowClosed
	}
	return TypeDeadLetter
}

// checkEnvelope catches events put together by hand with the wrong type or
// without an id; they would be routed or deduplicated wrongly downstream.
// It returns the kind of e.
func checkEnvelope(e Event, h *Envelope) (recordKind, error) {
	var kind recordKind
	switch e.(type) {
	case *DNISWindow:
		kind = kindDNISWindow
	case *DNISGone:
		kind = kindDNISGone
	case *WindowClosed:
		kind = kindWindowClosed
	default:
		return kind, fmt.Errorf("%w: %T is not an event type of this schema", ErrInvalidEvent, e)
	}
	switch want := kind.recordType(); {
	case h.EventType != want:
		return kind, fmt.Errorf("%w: event_type %q on a %T", ErrInvalidEvent, h.EventType, e)
	case h.EventID == "":
		return kind, fmt.Errorf("%w: empty event_id", ErrInvalidEvent)
	case h.SchemaVersion != Version:
		return kind, fmt.Errorf("%w: schema_version %d, this build writes %d", ErrInvalidEvent, h.SchemaVersion, Version)
	}
	return kind, nil
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
	rest := len(d.Operation) + 1 + len(d.SkillID) + len(d.DeadLetterID) + len(d.Reason)
	enc := Encoder{bufferSize: windowRoom + ceTypeRoom + rest, headerSlots: ceHeaders + 1}
	w, err := enc.windowOf(&Envelope{Operation: d.Operation, SkillID: d.SkillID, WindowStart: d.WindowStart,
		WindowEnd: d.WindowEnd, Revision: d.Revision, FetchedAt: d.FetchedAt, Producer: d.Producer})
	if err != nil { // json.Marshal has already refused the times that would fail here
		return Message{}, &EncodeError{ID: d.DeadLetterID, Err: err}
	}
	b := enc.room(rest)
	b = append(b, w.key...)
	keyEnd := len(b)
	b = append(b, d.DeadLetterID...)
	idEnd := len(b)
	b = append(b, d.Reason...)
	enc.keep(b)
	return Message{
		Key:   b[:keyEnd:keyEnd],
		Value: value,
		Headers: enc.headersOf(w, enc.ceType(kindDeadLetter), b[keyEnd:idEnd:idEnd], w.subject, enc.dataSchema(kindDeadLetter),
			Header{Key: "reason", Value: b[idEnd:len(b):len(b)]}),
	}, nil
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

// Where the JSON Schemas of this version live: their $id. The ce_dataschema
// of an event points into the events' document at its type's definition,
// that of a dead letter at the dead letters' document.
const schemaBaseURI = "https://github.com/skill6pub/skill6pub/schema/"

// EventsSchemaID is the $id of JSONSchemaDocument.
func EventsSchemaID() string {
	return schemaBaseURI + "events.v" + strconv.Itoa(Version) + ".schema.json"
}

// DeadLetterSchemaID is the $id of DeadLetterJSONSchemaDocument.
func DeadLetterSchemaID() string {
	return schemaBaseURI + "dead_letter.v" + strconv.Itoa(Version) + ".schema.json"
}

// DataSchema returns the ce_dataschema header of a record type: a URI that
// stays the same as long as schema_version does.
func DataSchema(recordType string) string { return string(appendDataSchema(nil, recordType)) }

func appendDataSchema(b []byte, recordType string) []byte {
	if recordType == TypeDeadLetter {
		return append(b, DeadLetterSchemaID()...)
	}
	b = append(b, EventsSchemaID()...)
	b = append(b, "#/$defs/"...)
	return append(b, recordType...)
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
