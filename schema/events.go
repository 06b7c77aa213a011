package schema

import (
	"encoding/json"
	"time"
)

// Event types, as they appear in event_type and in the ce_type header.
const (
	TypeDNISWindow   = "dnis_window"
	TypeDNISGone     = "dnis_gone"
	TypeWindowClosed = "window_closed"
	// TypeDeadLetter names dead-letter records in their ids and ce_type; it
	// is not an event_type of the events topic.
	TypeDeadLetter = "dead_letter"
)

// Version is the schema_version of every event this code produces.
const Version = 1

// WindowSubject stands for "the whole window" in the event id of a
// window_closed, where the other types put the DNIS.
const WindowSubject = "#window"

// Change says how a DNIS row compares with the same DNIS in the previous
// window.
type Change string

// The values of Change.
const (
	// ChangeNew: the DNIS was not in the previous window (or the previous
	// window is unknown, see PreviousWindowKnown), or, in a revision, it was
	// not in what was published for this window.
	ChangeNew Change = "new"
	// ChangeChanged: at least one metric differs from the previous window.
	ChangeChanged Change = "changed"
	// ChangeUnchanged: every metric equals the previous window's.
	ChangeUnchanged Change = "unchanged"
	// ChangeRevised: a re-fetch of an already published window found other
	// metrics for this DNIS; Previous holds what was published before.
	ChangeRevised Change = "revised"
)

// Producer names the program that produced an event.
type Producer struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Envelope holds the fields every event carries.
type Envelope struct {
	// EventID is deterministic (see the package documentation): a window
	// published twice carries the same ids.
	EventID       string `json:"event_id"`
	EventType     string `json:"event_type"`
	SchemaVersion int    `json:"schema_version"`
	// Operation is the wolkvox server id of the operation, e.g. "0032".
	Operation string `json:"operation"`
	SkillID   string `json:"skill_id"`
	// WindowStart and WindowEnd bound the window [start, end) in the
	// operation's time zone; they encode as RFC 3339 with that offset.
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// Revision is 0 for the first publication of a window and grows by one
	// each time a re-fetch finds changed data.
	Revision int `json:"revision"`
	// FetchedAt is when the data was read from wolkvox, in the operation's
	// time zone, to the millisecond.
	FetchedAt MilliTime `json:"fetched_at"`
	Producer  Producer  `json:"producer"`
}

// Event is one record of the topic: a *DNISWindow, a *DNISGone or a
// *WindowClosed.
type Event interface {
	// Head returns the envelope shared by every event type.
	Head() *Envelope
	// Key returns the Kafka record key.
	Key() string
}

// Head returns the envelope.
func (e *Envelope) Head() *Envelope { return e }

// DNISWindow is one DNIS row of one window.
type DNISWindow struct {
	Envelope
	// DNIS is the caller's number as wolkvox sent it, or its keyed HMAC
	// (64 hex characters) when DNISHashed is true.
	DNIS       string `json:"dnis"`
	DNISHashed bool   `json:"dnis_hashed"`
	Change     Change `json:"change"`
	// SourceRows is the number of response rows behind this event: 1, or
	// more when wolkvox sent the same DNIS several times in one window and
	// the rows were merged (counts summed, percentages and averages
	// weighted by calls).
	SourceRows int     `json:"source_rows"`
	Metrics    Metrics `json:"metrics"`
	// PreviousWindowKnown is false for the first window after a fresh start,
	// when there is no previous snapshot to compare with: every row is then
	// "new" without that meaning the DNIS was absent before.
	PreviousWindowKnown bool `json:"previous_window_known"`
	// Previous is the same DNIS's metrics in the previous window (for a
	// revised event: as published before), or null when there is none.
	Previous *Metrics `json:"previous"`
	// Delta is Metrics minus Previous, or null when Previous is null.
	Delta *Delta `json:"delta"`
}

// Delta is current minus previous for each metric; null where either side
// has no value. Differences of percentages and seconds are rounded to six
// decimals so that 28.81 - 28.8 reads 0.01.
type Delta = Metrics

// DNISGone says that a DNIS of the previous window is absent from this one
// (in a revision: absent from the re-fetch of a window that had it), so a
// table keyed by DNIS does not keep a stale row.
type DNISGone struct {
	Envelope
	DNIS       string  `json:"dnis"`
	DNISHashed bool    `json:"dnis_hashed"`
	Previous   Metrics `json:"previous"`
}

// WindowClosed follows the DNIS events of a window (or of one revision of
// it): consumers take it as the mark that the window is complete.
type WindowClosed struct {
	Envelope
	PreviousWindowKnown bool `json:"previous_window_known"`
	// PreviousWindowStart is the start of the window this one was compared
	// with, or null when it was unknown. It is not always the window just
	// before: after a gap left for backfill it is the last one published.
	PreviousWindowStart *time.Time `json:"previous_window_start"`
	// RowCount is the number of distinct DNIS in the window, after merging.
	RowCount int `json:"row_count"`
	// MergedRows is the number of response rows merged into a row of the
	// same DNIS (the response had RowCount + MergedRows typed rows).
	MergedRows int `json:"merged_rows"`
	// RejectedRows is the number of rows sent to the dead-letter topic.
	RejectedRows int `json:"rejected_rows"`
	// DNISWindowEvents is the number of dnis_window events of this window
	// and revision: RowCount for revision 0, the new and revised ones after.
	DNISWindowEvents int `json:"dnis_window_events"`
	// GoneCount is the number of dnis_gone events of this window and
	// revision.
	GoneCount int `json:"gone_count"`
	// RepeatCallers is the number of DNIS that were also in the previous
	// window: callers whose request was not solved at first contact.
	RepeatCallers int `json:"repeat_callers"`
	// MaybeTruncated is true when wolkvox returned as many rows as its cap
	// and the window may be incomplete.
	MaybeTruncated bool `json:"maybe_truncated"`
	// NoData is true when wolkvox answered "no data for these dates".
	NoData bool   `json:"no_data"`
	Totals Totals `json:"totals"`
}

// Totals sums a window over its rows. Service levels and abandon_pct are
// weighted by each row's inbound calls, asa_seconds by answered calls and
// ata_seconds by abandoned calls; a row without a value or without calls
// adds nothing to a weighted figure, which is null when no row adds to it.
type Totals struct {
	InboundCalls       int64     `json:"inbound_calls"`
	AnswerCalls        int64     `json:"answer_calls"`
	AbandonCalls       int64     `json:"abandon_calls"`
	ServiceLevel10sPct NullFloat `json:"service_level_10s_pct"`
	ServiceLevel20sPct NullFloat `json:"service_level_20s_pct"`
	ServiceLevel30sPct NullFloat `json:"service_level_30s_pct"`
	AbandonPct         NullFloat `json:"abandon_pct"`
	ASASeconds         NullFloat `json:"asa_seconds"`
	ATASeconds         NullFloat `json:"ata_seconds"`
}

// Where a dead letter comes from.
const (
	// DeadLetterRow: a row of the response that could not become an event.
	DeadLetterRow = "row"
	// DeadLetterEvent: an event that could not be published (too large).
	DeadLetterEvent = "event"
)

// DeadLetter is a row or an event that could not be published as a valid
// event, with the reason. It goes to the dead-letter topic.
type DeadLetter struct {
	// DeadLetterID is deterministic like an event id.
	DeadLetterID  string    `json:"dead_letter_id"`
	SchemaVersion int       `json:"schema_version"`
	Operation     string    `json:"operation"`
	SkillID       string    `json:"skill_id"`
	WindowStart   time.Time `json:"window_start"`
	WindowEnd     time.Time `json:"window_end"`
	Revision      int       `json:"revision"`
	FetchedAt     MilliTime `json:"fetched_at"`
	// Source is DeadLetterRow or DeadLetterEvent.
	Source string `json:"source"`
	// RowIndex is the row's position in the response's data array; null for
	// an event, and for a row refused after it was typed.
	RowIndex NullInt `json:"row_index"`
	Reason   string  `json:"reason"`
	// DNISHashed is true when the "dnis" member of Raw was replaced by its
	// keyed HMAC, as in the events.
	DNISHashed bool `json:"dnis_hashed"`
	// Raw is the row as wolkvox sent it, or the event's JSON.
	Raw      json.RawMessage `json:"raw"`
	Producer Producer        `json:"producer"`
}

// Events is one window's events in publishing order, built a range at a
// time: the events of a large window take more memory as values than the
// rows they are made from (BENCHMARKS.md, snapshot), so a publisher asks
// for them a chunk at a time and lets each chunk go once it is
// acknowledged.
type Events interface {
	// Len is the number of events.
	Len() int
	// Slice returns the events [from, to), 0 <= from <= to <= Len(), in
	// publishing order. Asking for the same range twice gives equal events.
	Slice(from, to int) []Event
}

// EventSlice is Events already built.
type EventSlice []Event

// Len is the number of events.
func (s EventSlice) Len() int { return len(s) }

// Slice returns s[from:to].
func (s EventSlice) Slice(from, to int) []Event { return s[from:to] }
