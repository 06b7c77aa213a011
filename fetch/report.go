package fetch

import (
	"encoding/json"

	"github.com/skill6pub/skill6pub/schema"
)

// Row is one DNIS row of a skill_6 response, typed.
type Row struct {
	DNIS    string         `json:"dnis"`
	Metrics schema.Metrics `json:"metrics"`
}

// RejectedRow is a row that could not be typed. It keeps the raw JSON object
// exactly as wolkvox sent it so that it can go to the dead-letter topic.
type RejectedRow struct {
	Index  int             // position in the response's data array
	Raw    json.RawMessage // the row as received
	Reason string          // why it was rejected, for an operator
}

// Report is one window of the skill_6 report as returned by wolkvox.
type Report struct {
	Rows     []Row
	Rejected []RejectedRow
	// NoData is true when wolkvox answered 404 "Validate dates entered": a
	// valid window without calls.
	NoData bool
	// MaybeTruncated is true when the response reached wolkvox's row cap
	// (60,000) and may have been cut short.
	MaybeTruncated bool
}
