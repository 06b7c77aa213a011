package schema

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// idDomain starts every id hash so that no other SHA-256 in the system can
// be mistaken for an event id. Changing it changes every id: never do so
// within a schema version.
const idDomain = "skill6pub.event_id.v1"

// EventID returns the deterministic id of an event (see the package
// documentation for the exact construction). subject is the DNIS as
// published, or WindowSubject for a window_closed.
func EventID(eventType, operation, skillID, subject string, windowStart time.Time, revision int) string {
	var buf [160]byte
	b := append(buf[:0], idDomain...)
	for _, s := range [...]string{eventType, operation, skillID, subject} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(windowStart.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(int64(revision)))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
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
