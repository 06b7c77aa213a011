// Package schema is the event contract that skill6pub publishes to Kafka:
// the event types, their JSON Schema, deterministic event ids, the Kafka key
// and the CloudEvents headers. Every other package speaks these types.
package schema

import (
	"strconv"
)

// NullInt is an integer metric that wolkvox may leave empty. An empty value
// is "no value" and encodes as JSON null, never as 0.
type NullInt struct {
	Int   int64
	Valid bool
}

// IntOf returns a valid NullInt.
func IntOf(v int64) NullInt { return NullInt{Int: v, Valid: true} }

// MarshalJSON encodes the value, or null when it is not valid.
func (n NullInt) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, n.Int, 10), nil
}

// UnmarshalJSON accepts a JSON number or null.
func (n *NullInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = NullInt{}
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return err
	}
	*n = IntOf(v)
	return nil
}

// NullFloat is a percentage or a number of seconds that wolkvox may leave
// empty. An empty value encodes as JSON null, never as 0.
type NullFloat struct {
	Float float64
	Valid bool
}

// FloatOf returns a valid NullFloat.
func FloatOf(v float64) NullFloat { return NullFloat{Float: v, Valid: true} }

// MarshalJSON encodes the value, or null when it is not valid.
func (n NullFloat) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, n.Float, 'f', -1, 64), nil
}

// UnmarshalJSON accepts a JSON number or null.
func (n *NullFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = NullFloat{}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*n = FloatOf(v)
	return nil
}

// Metrics are the typed values of one DNIS row of the skill_6 report. The
// JSON names are part of the contract and never change within a schema
// version.
type Metrics struct {
	InboundCalls       NullInt   `json:"inbound_calls"`
	AnswerCalls        NullInt   `json:"answer_calls"`
	AbandonCalls       NullInt   `json:"abandon_calls"`
	ServiceLevel10sPct NullFloat `json:"service_level_10s_pct"`
	ServiceLevel20sPct NullFloat `json:"service_level_20s_pct"`
	ServiceLevel30sPct NullFloat `json:"service_level_30s_pct"`
	AbandonPct         NullFloat `json:"abandon_pct"`
	ASASeconds         NullFloat `json:"asa_seconds"`
	ATASeconds         NullFloat `json:"ata_seconds"`
}
