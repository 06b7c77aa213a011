package schema

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrNotFinite is returned when a metric is NaN or infinite: JSON has no
// such numbers.
var ErrNotFinite = errors.New("number is not finite")

// NullInt is an integer metric that wolkvox may leave empty. An empty value
// is "no value" and encodes as JSON null, never as 0.
type NullInt struct {
	Int   int64
	Valid bool
}

// IntOf returns a valid NullInt.
func IntOf(v int64) NullInt { return NullInt{Int: v, Valid: true} }

// MarshalJSON encodes the value, or null when it is not valid.
func (n NullInt) MarshalJSON() ([]byte, error) { return appendNullInt(nil, n), nil }

func appendNullInt(b []byte, n NullInt) []byte {
	if !n.Valid {
		return append(b, "null"...)
	}
	return appendInt(b, n.Int)
}

// appendInt is strconv.AppendInt(b, v, 10), writing numbers from 0 to 999
// itself: most counts of a DNIS, most seconds and the whole part of every
// percentage up to 100 are, and strconv.AppendInt costs two calls more.
func appendInt(b []byte, v int64) []byte {
	switch u := uint64(v); {
	case u < 10:
		return append(b, '0'+byte(u))
	case u < 100:
		return append(b, '0'+byte(u/10), '0'+byte(u%10))
	case u < 1000:
		return append(b, '0'+byte(u/100), '0'+byte(u/10%10), '0'+byte(u%10))
	}
	return strconv.AppendInt(b, v, 10)
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

// MarshalJSON encodes the value in the shortest form that reads back
// exactly, or null when it is not valid. NaN and infinities are an error
// wrapping ErrNotFinite.
func (n NullFloat) MarshalJSON() ([]byte, error) { return appendNullFloat(nil, n) }

func appendNullFloat(b []byte, n NullFloat) ([]byte, error) {
	if !n.Valid {
		return append(b, "null"...), nil
	}
	// A value within appendFloat's fast range is finite: comparing with
	// the range first spares testing for NaN and the infinities on every
	// ordinary value.
	if f := n.Float; !(f > -maxCents && f < maxCents) && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return b, fmt.Errorf("%v: %w", f, ErrNotFinite)
	}
	return appendFloat(b, n.Float), nil
}

// maxCents bounds the fast path of appendFloat: below it, float64s are
// closer together than 0.01, so two numbers of at most two decimals are
// never the same float64.
const maxCents = 1e13

// appendFloat appends f exactly as strconv.AppendFloat(b, f, 'f', -1, 64)
// does: the shortest decimal that reads back as f. Nearly every metric is a
// whole number or a percentage with two decimals; for those it writes the
// digits itself, twice as fast as strconv's general algorithm, which is
// most of the cost of encoding an event. A whole number below maxCents is
// exact in a float64 and its digits are the shortest decimal; checking for
// one first spares the multiplication and the division below (a fifth
// faster on whole numbers). If f is the float64 nearest to cents/100, that
// decimal reads back as f, and no shorter decimal does (below maxCents
// another decimal of at most two places is another float64), so it is the
// shortest. TestAppendFloatMatchesStrconv checks it.
func appendFloat(b []byte, f float64) []byte {
	if f > -maxCents && f < maxCents && (f != 0 || !math.Signbit(f)) {
		if whole := int64(f); float64(whole) == f {
			return appendInt(b, whole)
		}
		// RoundToEven is one instruction, Round a dozen; they differ only
		// when f*100 ends in .5, and then neither neighbour over 100 is f.
		if cents := math.RoundToEven(f * 100); cents/100 == f {
			c := int64(cents)
			if c < 0 {
				b = append(b, '-')
				c = -c
			}
			b = appendInt(b, c/100)
			if frac := c % 100; frac != 0 {
				b = append(b, '.', byte('0'+frac/10))
				if frac%10 != 0 {
					b = append(b, byte('0'+frac%10))
				}
			}
			return b
		}
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
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

// MarshalJSON writes the nine members in one go; encoding/json would
// otherwise call a MarshalJSON per member and re-scan each output, which
// is most of the cost of saving a 100,000-row snapshot.
func (m Metrics) MarshalJSON() ([]byte, error) { return appendMetrics(make([]byte, 0, 256), &m) }

// AppendJSON appends what MarshalJSON returns to b, without allocating:
// the state directory writes the metrics of every row of a window with it.
func (m *Metrics) AppendJSON(b []byte) ([]byte, error) { return appendMetrics(b, m) }

// MetricError says which metric of a row breaks the contract.
type MetricError struct {
	Metric string // the JSON name, e.g. "asa_seconds"
	Value  float64
	Err    error // ErrNotFinite or ErrNegative
}

// ErrNegative is returned for a count, percentage or duration below zero.
var ErrNegative = errors.New("number is negative")

func (e *MetricError) Error() string {
	return fmt.Sprintf("metric %s = %v: %v", e.Metric, e.Value, e.Err)
}

func (e *MetricError) Unwrap() error { return e.Err }

// Validate reports the first metric that the JSON Schema would refuse in a
// dnis_window: a NaN or infinite value, or a value below zero. Percentages
// above 100 are accepted because wolkvox reports show them (9,336.00 %).
// The error is a *MetricError.
func (m Metrics) Validate() error {
	if inRange(m.InboundCalls) && inRange(m.AnswerCalls) && inRange(m.AbandonCalls) &&
		finite(m.ServiceLevel10sPct) && finite(m.ServiceLevel20sPct) && finite(m.ServiceLevel30sPct) &&
		finite(m.AbandonPct) && finite(m.ASASeconds) && finite(m.ATASeconds) {
		return nil // every row of a normal window: no need to find the culprit
	}
	ints := [...]struct {
		name string
		v    NullInt
	}{
		{"inbound_calls", m.InboundCalls},
		{"answer_calls", m.AnswerCalls},
		{"abandon_calls", m.AbandonCalls},
	}
	for _, f := range ints {
		if f.v.Valid && f.v.Int < 0 {
			return &MetricError{Metric: f.name, Value: float64(f.v.Int), Err: ErrNegative}
		}
	}
	floats := [...]struct {
		name string
		v    NullFloat
	}{
		{"service_level_10s_pct", m.ServiceLevel10sPct},
		{"service_level_20s_pct", m.ServiceLevel20sPct},
		{"service_level_30s_pct", m.ServiceLevel30sPct},
		{"abandon_pct", m.AbandonPct},
		{"asa_seconds", m.ASASeconds},
		{"ata_seconds", m.ATASeconds},
	}
	for _, f := range floats {
		switch {
		case !f.v.Valid:
		case math.IsNaN(f.v.Float) || math.IsInf(f.v.Float, 0):
			return &MetricError{Metric: f.name, Value: f.v.Float, Err: ErrNotFinite}
		case f.v.Float < 0:
			return &MetricError{Metric: f.name, Value: f.v.Float, Err: ErrNegative}
		}
	}
	return nil
}

func inRange(v NullInt) bool { return !v.Valid || v.Int >= 0 }

// finite reports a missing value or one in [0, MaxFloat64]; NaN fails both
// comparisons.
func finite(v NullFloat) bool { return !v.Valid || (v.Float >= 0 && v.Float <= math.MaxFloat64) }
