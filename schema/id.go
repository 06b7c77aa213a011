package schema

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// idDomain starts every id hash so that no other SHA-256 in the system can
// be mistaken for an event id. Changing it changes every id: never do so
// within a schema version.
const idDomain = "skill6pub.event_id.v1"

// EventIDLength is the length of an event id: 32 hex characters.
const EventIDLength = 32

// EventID returns the deterministic id of an event (see the package
// documentation for the exact construction). subject is the DNIS as
// published, or WindowSubject for a window_closed.
func EventID(eventType, operation, skillID, subject string, windowStart time.Time, revision int) string {
	var buf [EventIDLength]byte
	w := idWriter{}
	w.setPrefix(idPrefix{eventType, operation, skillID, windowStart.Unix(), revision})
	return string(append(buf[:0], w.id(subject)...))
}

// SetEventIDs computes the id of every event from its envelope and DNIS
// and stores it in EventID, as EventID would. It hashes the part shared by
// a window's events of one type once, and allocates all ids at once, which
// counts for windows of 100,000 rows.
func SetEventIDs(events []Event) {
	var ids strings.Builder
	ids.Grow(len(events) * EventIDLength)
	var w idWriter
	for _, e := range events {
		h := e.Head()
		w.setPrefix(idPrefix{h.EventType, h.Operation, h.SkillID, h.WindowStart.Unix(), h.Revision})
		ids.Write(w.id(subjectOf(e)))
	}
	all := ids.String()
	for i, e := range events {
		e.Head().EventID = all[i*EventIDLength : (i+1)*EventIDLength]
	}
}

// subjectOf returns what identifies an event within its window.
func subjectOf(e Event) string {
	switch e := e.(type) {
	case *DNISWindow:
		return e.DNIS
	case *DNISGone:
		return e.DNIS
	}
	return WindowSubject
}

// idPrefix is what the events of one window, type and revision share in
// their id input.
type idPrefix struct {
	eventType, operation, skillID string
	windowStart                   int64 // Unix seconds
	revision                      int
}

func appendLengthPrefixed(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// idWriter computes the ids of events that share a prefix from the
// prefix's hash, so that each id costs one SHA-256 block for a DNIS of up
// to 19 bytes.
type idWriter struct {
	prefix     idPrefix
	started    bool
	input      []byte // the prefix's hash, then the subject
	prefixHash int    // length of input that is the prefix's hash
	hexed      [EventIDLength]byte
}

func (w *idWriter) setPrefix(p idPrefix) {
	if w.started && p == w.prefix {
		return
	}
	w.prefix, w.started = p, true
	b := append(w.input[:0], idDomain...)
	b = appendLengthPrefixed(b, p.eventType)
	b = appendLengthPrefixed(b, p.operation)
	b = appendLengthPrefixed(b, p.skillID)
	b = binary.BigEndian.AppendUint64(b, uint64(p.windowStart))
	b = binary.BigEndian.AppendUint64(b, uint64(int64(p.revision)))
	sum := sha256.Sum256(b)
	w.input = append(b[:0], sum[:]...)
	w.prefixHash = len(w.input)
}

// id returns the id of subject under the current prefix, valid until the
// next call.
func (w *idWriter) id(subject string) []byte {
	w.input = appendLengthPrefixed(w.input[:w.prefixHash], subject)
	sum := sha256.Sum256(w.input)
	hex.Encode(w.hexed[:], sum[:EventIDLength/2])
	return w.hexed[:]
}

// RowDeadLetter is the dead letter of the response row at rowIndex of the
// data array, in the window that w describes (its operation, skill, window,
// revision, fetch time and producer; its id and type are not used). raw
// should already have gone through DNISHasher.PseudonymizeRaw.
func RowDeadLetter(w *Envelope, rowIndex int, reason string, raw json.RawMessage, dnisHashed bool) DeadLetter {
	d := newDeadLetter(w, DeadLetterRow, "row:"+strconv.Itoa(rowIndex), reason, raw, dnisHashed)
	d.RowIndex = IntOf(int64(rowIndex))
	return d
}

// TypedRowDeadLetter is the dead letter of a row that was typed but then
// refused (a metric out of range, see Metrics.Validate); typedIndex is its
// position among the typed rows, as its place in the data array is no
// longer known.
func TypedRowDeadLetter(w *Envelope, typedIndex int, reason string, raw json.RawMessage, dnisHashed bool) DeadLetter {
	return newDeadLetter(w, DeadLetterRow, "typed_row:"+strconv.Itoa(typedIndex), reason, raw, dnisHashed)
}

// EventDeadLetter is the dead letter of an event that could not be
// published, value being its encoded JSON.
func EventDeadLetter(e Event, value []byte, reason string) DeadLetter {
	var hashed bool
	switch ev := e.(type) {
	case *DNISWindow:
		hashed = ev.DNISHashed
	case *DNISGone:
		hashed = ev.DNISHashed
	}
	h := e.Head()
	return newDeadLetter(h, DeadLetterEvent, "event:"+h.EventID, reason, value, hashed)
}

func newDeadLetter(w *Envelope, source, subject, reason string, raw json.RawMessage, dnisHashed bool) DeadLetter {
	if !json.Valid(raw) {
		// Keep what arrived, readable, rather than fail to encode the record.
		raw, _ = json.Marshal(string(raw))
	}
	return DeadLetter{
		DeadLetterID:  EventID(TypeDeadLetter, w.Operation, w.SkillID, subject, w.WindowStart, w.Revision),
		SchemaVersion: Version,
		Operation:     w.Operation,
		SkillID:       w.SkillID,
		WindowStart:   w.WindowStart,
		WindowEnd:     w.WindowEnd,
		Revision:      w.Revision,
		FetchedAt:     w.FetchedAt,
		Source:        source,
		Reason:        reason,
		DNISHashed:    dnisHashed,
		Raw:           raw,
		Producer:      w.Producer,
	}
}
