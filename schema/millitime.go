package schema

import (
	"errors"
	"time"
)

// MilliTime is a time that JSON writes in RFC 3339 with its own offset and
// exactly three fraction digits, "2025-03-09T10:06:00.125-05:00" (".000"
// on a whole second): the form Python's datetime.fromisoformat before 3.11,
// JavaScript's Date and fixed-pattern parsers all read, where Go's own
// RFC 3339 writes zero to nine digits. Finer digits are dropped, never
// rounded, so the text never moves to a later millisecond.
type MilliTime struct{ time.Time }

// MilliOf returns t as a MilliTime.
func MilliOf(t time.Time) MilliTime { return MilliTime{t} }

// milliLayout is RFC 3339 with milliseconds.
const milliLayout = "2006-01-02T15:04:05.000Z07:00"

// errMilliTimeRange is what time.Time's MarshalJSON refuses as well.
var errMilliTimeRange = errors.New("MilliTime.MarshalJSON: year outside of range [0,9999] or offset of a day or more")

// MarshalJSON writes the time as a JSON string in milliLayout.
func (t MilliTime) MarshalJSON() ([]byte, error) { return appendMilliTime(nil, t.Time) }

// UnmarshalJSON reads any RFC 3339 time, whatever its fraction digits.
func (t *MilliTime) UnmarshalJSON(b []byte) error { return t.Time.UnmarshalJSON(b) }

// appendMilliTime appends t as a JSON string in milliLayout, refusing what
// RFC 3339 cannot express, as time.Time's MarshalJSON does.
func appendMilliTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, errMilliTimeRange
	}
	if _, offset := t.Zone(); offset <= -24*3600 || offset >= 24*3600 {
		return b, errMilliTimeRange
	}
	b = append(b, '"')
	b = t.AppendFormat(b, milliLayout)
	return append(b, '"'), nil
}
