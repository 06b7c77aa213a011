package schema

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// idDomain starts every id hash so that no other SHA-256 in the system can
// be mistaken for an event id. It names the construction: v2 added the
// window's end and the previous window, so that a window of another length
// or compared with another window never shares an id with one published
// before.
const idDomain = "skill6pub.event_id.v2"

// EventIDLength is the length of an event id: 32 hex characters.
const EventIDLength = 32

// IDScope is what the ids of the events of one window and revision share:
// every input that shapes those events apart from their subject and the
// fetched data (which the write-ahead record pins for a window published
// again). See the package documentation.
type IDScope struct {
	Operation   string
	SkillID     string
	WindowStart time.Time
	WindowEnd   time.Time
	Revision    int
	// PreviousWindowStart is the start of the window the events were
	// compared with (change, previous, delta, dnis_gone come from it); nil
	// when none was known.
	PreviousWindowStart *time.Time
}

// EventID returns the deterministic id of an event (see the package
// documentation for the exact construction). subject is the DNIS as
// published, or WindowSubject for a window_closed.
func EventID(eventType string, scope IDScope, subject string) string {
	var buf [EventIDLength]byte
	a := NewIDAppender(eventType, scope)
	return string(a.Append(buf[:0], subject))
}

// IDAppender computes the ids of the events of one type and scope, as
// EventID would: the part they share is hashed once, and each id then costs
// one SHA-256 block for a subject of up to 19 bytes. The ids of a
// 100,000-row window can go into one buffer.
type IDAppender struct {
	input      []byte // the shared part's hash, then the subject
	prefixHash int    // length of input that is the shared part's hash
}

// NewIDAppender returns an IDAppender for the events of eventType of one
// scope.
func NewIDAppender(eventType string, scope IDScope) *IDAppender {
	b := make([]byte, 0, 128)
	b = append(b, idDomain...)
	b = appendLengthPrefixed(b, eventType)
	b = appendLengthPrefixed(b, scope.Operation)
	b = appendLengthPrefixed(b, scope.SkillID)
	b = binary.BigEndian.AppendUint64(b, uint64(scope.WindowStart.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(scope.WindowEnd.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(int64(scope.Revision)))
	if p := scope.PreviousWindowStart; p != nil {
		b = append(b, 1)
		b = binary.BigEndian.AppendUint64(b, uint64(p.Unix()))
	} else {
		b = append(b, 0)
	}
	sum := sha256.Sum256(b)
	return &IDAppender{input: append(b[:0], sum[:]...), prefixHash: sha256.Size}
}

// Append appends the id (EventIDLength hex characters) of the event whose
// subject is subject: its DNIS as published, or WindowSubject.
func (a *IDAppender) Append(dst []byte, subject string) []byte {
	a.input = appendLengthPrefixed(a.input[:a.prefixHash], subject)
	sum := sha256.Sum256(a.input)
	return hex.AppendEncode(dst, sum[:EventIDLength/2])
}

func appendLengthPrefixed(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// RowDeadLetter is the dead letter of the response row at rowIndex of the
// data array, in the window that w describes (its operation, skill, window,
// revision, fetch time and producer; its id and type are not used). raw
// should already have gone through DNISHasher.PseudonymizeRaw.
//
// Its id depends on the window and on the row as published, not on the
// revision nor on the row's place in the response: the subject is
// "row:<RowDigest(raw)>:<occurrence>", occurrence counting the identical
// rows before it in the response. A bad row that every re-fetch of the
// window returns unchanged is thus one dead letter: snapshot.Revise sends
// only the dead letters whose ids the window has not published yet.
func RowDeadLetter(w *Envelope, rowIndex, occurrence int, reason string, raw json.RawMessage, dnisHashed bool) DeadLetter {
	raw = publishableRaw(raw)
	d := newDeadLetter(w, DeadLetterRow, "row:"+RowDigest(raw)+":"+strconv.Itoa(occurrence), reason, raw, dnisHashed)
	d.RowIndex = IntOf(int64(rowIndex))
	return d
}

// TypedRowDeadLetter is the dead letter of a row that was typed but then
// refused (a metric out of range, see Metrics.Validate): raw is the row as
// typed, its place in the data array being no longer known. Its id is made
// like RowDeadLetter's, with the subject "typed_row:<digest>:<occurrence>".
func TypedRowDeadLetter(w *Envelope, occurrence int, reason string, raw json.RawMessage, dnisHashed bool) DeadLetter {
	raw = publishableRaw(raw)
	return newDeadLetter(w, DeadLetterRow, "typed_row:"+RowDigest(raw)+":"+strconv.Itoa(occurrence), reason, raw, dnisHashed)
}

// RowDigest is the digest of a rejected row in its dead letter's id: 32 hex
// digits of the SHA-256 of its raw JSON as published.
func RowDigest(raw json.RawMessage) string {
	sum := sha256.Sum256(publishableRaw(raw))
	return hex.EncodeToString(sum[:16])
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

// publishableRaw returns raw as a dead letter carries it: valid UTF-8, and
// valid JSON.
func publishableRaw(raw json.RawMessage) json.RawMessage {
	if !utf8.Valid(raw) {
		// JSON is UTF-8: a byte that is not would make the whole dead
		// letter unreadable to strict consumers. It can only sit inside a
		// string of a valid row, so the row keeps its shape.
		raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
	}
	if !json.Valid(raw) {
		// Keep what arrived, readable, rather than fail to encode the record.
		raw, _ = json.Marshal(string(raw))
	}
	return raw
}

func newDeadLetter(w *Envelope, source, subject, reason string, raw json.RawMessage, dnisHashed bool) DeadLetter {
	raw = publishableRaw(raw)
	// A row's dead letter is one whatever the revision that sends it; an
	// event's belongs to its event's revision.
	idRevision := w.Revision
	if source == DeadLetterRow {
		idRevision = 0
	}
	return DeadLetter{
		DeadLetterID:  EventID(TypeDeadLetter, IDScope{Operation: w.Operation, SkillID: w.SkillID, WindowStart: w.WindowStart, WindowEnd: w.WindowEnd, Revision: idRevision}, subject),
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
