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
)

// Version is the schema_version of every event this code produces.
const Version = 1

// Change says how a DNIS row compares with the same DNIS in the previous
// window.
type Change string

// The values of Change.
const (
	ChangeNew       Change = "new"
	ChangeChanged   Change = "changed"
	ChangeUnchanged Change = "unchanged"
	ChangeRevised   Change = "revised"
)

// Producer names the program that produced an event.
type Producer struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Envelope holds the fields every event carries.
type Envelope struct {
	EventID       string `json:"event_id"`
	EventType     string `json:"event_type"`
	SchemaVersion int    `json:"schema_version"`
	Operation     string `json:"operation"`
	SkillID       string `json:"skill_id"`
	// WindowStart and WindowEnd bound the window [start, end) in the
	// operation's time zone; they encode as RFC 3339 with that offset.
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Revision    int       `json:"revision"`
	FetchedAt   time.Time `json:"fetched_at"`
	Producer    Producer  `json:"producer"`
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
	DNIS string `json:"dnis"`
	// DNISHashed is true when DNIS is a keyed HMAC of the caller's number
	// rather than the number itself.
	DNISHashed bool    `json:"dnis_hashed"`
	Change     Change  `json:"change"`
	Metrics    Metrics `json:"metrics"`
	// PreviousWindowKnown is false for the first window after a fresh start,
	// when there is no previous snapshot to compare with: every row is then
	// "new" without that meaning the DNIS was absent before.
	PreviousWindowKnown bool     `json:"previous_window_known"`
	Previous            *Metrics `json:"previous"`
	Delta               *Delta   `json:"delta"`
}

// Delta is current minus previous for each metric; null where either side
// has no value.
type Delta = Metrics

// DNISGone says that a DNIS of the previous window is absent from this one.
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
	RowCount            int  `json:"row_count"`
	RejectedRows        int  `json:"rejected_rows"`
	GoneCount           int  `json:"gone_count"`
	RepeatCallers       int  `json:"repeat_callers"`
	// MaybeTruncated is true when wolkvox returned as many rows as its cap
	// and the window may be incomplete.
	MaybeTruncated bool   `json:"maybe_truncated"`
	NoData         bool   `json:"no_data"`
	Totals         Totals `json:"totals"`
}

// Totals sums a window over its rows; the percentages and ASA are weighted
// by calls.
type Totals struct {
	InboundCalls       int64     `json:"inbound_calls"`
	AnswerCalls        int64     `json:"answer_calls"`
	AbandonCalls       int64     `json:"abandon_calls"`
	ServiceLevel10sPct NullFloat `json:"service_level_10s_pct"`
	ServiceLevel20sPct NullFloat `json:"service_level_20s_pct"`
	ServiceLevel30sPct NullFloat `json:"service_level_30s_pct"`
	AbandonPct         NullFloat `json:"abandon_pct"`
	ASASeconds         NullFloat `json:"asa_seconds"`
}

// DeadLetter is a row or an event that could not be published as a valid
// event, with the reason. It goes to the dead-letter topic.
type DeadLetter struct {
	Operation   string          `json:"operation"`
	SkillID     string          `json:"skill_id"`
	WindowStart time.Time       `json:"window_start"`
	WindowEnd   time.Time       `json:"window_end"`
	Reason      string          `json:"reason"`
	Raw         json.RawMessage `json:"raw"`
}
