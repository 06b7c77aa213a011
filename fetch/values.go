package fetch

import (
	"strconv"

	"github.com/skill6pub/skill6pub/schema"
)

// maxValueLen bounds one value; nothing wolkvox sends comes close.
const maxValueLen = 40

// maxMagnitude bounds every number of a row: no count of calls, percentage
// (wolkvox has shown 9,336.00 %) or number of seconds comes near it. A
// value beyond it is garbage rather than data, and counts that large would
// overflow the window's totals when summed and lose precision in the JSON
// parsers of consumers (above 2^53).
const maxMagnitude = 1e9

// tooLarge is the problem of a number over maxMagnitude.
const tooLarge = "too large (over 1,000,000,000): not a plausible value"

// parseCount types a call count: a whole number, commas allowed as
// thousands separators, blanks around; empty is no value. The second result
// says what is wrong, "" when nothing is.
func parseCount(b []byte) (schema.NullInt, string) {
	b = trimBlanks(b)
	if len(b) == 0 {
		return schema.NullInt{}, ""
	}
	var buf [maxValueLen]byte
	d, problem := scanDecimal(b, &buf)
	switch {
	case problem != "":
		return schema.NullInt{}, problem
	case d.fracLen >= 0:
		return schema.NullInt{}, "not a whole number"
	}
	n := int64(d.mantissa)
	if d.digits > 18 { // leading zeros, or beyond any bound
		var err error
		if n, err = strconv.ParseInt(string(d.clean), 10, 64); err != nil {
			return schema.NullInt{}, tooLarge
		}
	}
	if n > maxMagnitude {
		return schema.NullInt{}, tooLarge
	}
	return schema.IntOf(n), ""
}

// parsePercent types a percentage: "28.81 %", "28.81%", "28.81",
// "9,336.00 %"; empty is no value. Values over 100 are kept: wolkvox shows
// them.
func parsePercent(b []byte) (schema.NullFloat, string) {
	b = trimBlanks(b)
	if len(b) == 0 {
		return schema.NullFloat{}, ""
	}
	if b[len(b)-1] == '%' {
		b = trimBlanks(b[:len(b)-1])
		if len(b) == 0 {
			return schema.NullFloat{}, "no number before %"
		}
	}
	return bounded(parseDecimal(b))
}

// bounded types a parsed number, refusing one over maxMagnitude.
func bounded(v float64, problem string) (schema.NullFloat, string) {
	switch {
	case problem != "":
		return schema.NullFloat{}, problem
	case v > maxMagnitude:
		return schema.NullFloat{}, tooLarge
	}
	return schema.FloatOf(v), ""
}

// parseSeconds types a duration: "00:01:16" (hours can exceed 24), "01:16"
// (minutes and seconds), or plain seconds ("76", "76.5", "1,076");
// empty is no value.
func parseSeconds(b []byte) (schema.NullFloat, string) {
	b = trimBlanks(b)
	if len(b) == 0 {
		return schema.NullFloat{}, ""
	}
	for _, c := range b {
		if c == ':' {
			v, problem := parseClock(b)
			return bounded(v.Float, problem)
		}
	}
	return bounded(parseDecimal(b))
}

// parseClock types "[h:]mm:ss" where the seconds may have a fraction.
func parseClock(b []byte) (schema.NullFloat, string) {
	const bad = "not a duration like 00:01:16"
	var parts [3][]byte
	n := 0
	start := 0
	for i := 0; i <= len(b); i++ {
		if i < len(b) && b[i] != ':' {
			continue
		}
		if n == len(parts) {
			return schema.NullFloat{}, bad
		}
		parts[n] = b[start:i]
		n++
		start = i + 1
	}
	var hours []byte
	minutes, seconds := parts[n-2], parts[n-1]
	if n == 3 {
		hours = parts[0]
	}
	if len(hours) > 9 || !allDigits(hours) || (n == 3 && len(hours) == 0) ||
		len(minutes) == 0 || len(minutes) > 2 || !allDigits(minutes) {
		return schema.NullFloat{}, bad
	}
	s, problem := parseDecimal(seconds)
	if problem != "" || s >= 60 {
		return schema.NullFloat{}, bad
	}
	m := atoiDigits(minutes)
	if m >= 60 {
		return schema.NullFloat{}, bad
	}
	return schema.FloatOf(float64(atoiDigits(hours)*3600+m*60) + s), ""
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// atoiDigits reads at most 9 checked digits.
func atoiDigits(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

// parseDecimal reads a non-negative decimal number with optional thousands
// commas.
func parseDecimal(b []byte) (float64, string) {
	var buf [maxValueLen]byte
	d, problem := scanDecimal(b, &buf)
	if problem != "" {
		return 0, problem
	}
	// Clinger's fast path: both numbers are exact in a float64, so the
	// quotient is the correctly rounded value, as strconv would return.
	if d.digits <= 15 && d.fracLen <= 22 {
		return float64(d.mantissa) / pow10[max(d.fracLen, 0)], ""
	}
	v, err := strconv.ParseFloat(string(d.clean), 64)
	if err != nil {
		return 0, "not a number" // unreachable: scanDecimal checked the syntax
	}
	return v, ""
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// decimal is a checked non-negative decimal number.
type decimal struct {
	clean    []byte // the number without its commas, for strconv
	mantissa uint64 // its digits as an integer, when there are at most 19
	digits   int
	fracLen  int // digits after the point; -1 without a point
}

const commaProblem = "commas must separate thousands (like 9,336.00)"

// scanDecimal checks digits[.digits] where the whole part may group
// thousands with commas ("9,336.00"): groups of three after a first group of
// one to three, so that a decimal comma ("28,81") is refused, not misread.
func scanDecimal(b []byte, buf *[maxValueLen]byte) (decimal, string) {
	switch {
	case len(b) > maxValueLen:
		return decimal{}, "too long"
	case len(b) == 0:
		return decimal{}, "not a number"
	case b[0] == '-':
		return decimal{}, "negative"
	}
	d := decimal{fracLen: -1}
	n := 0
	group, groups := 0, 0 // digits in the current group, commas so far
	for _, c := range b {
		switch {
		case isDigit(c):
			if d.digits < 19 {
				d.mantissa = d.mantissa*10 + uint64(c-'0')
			}
			d.digits++
			if d.fracLen >= 0 {
				d.fracLen++
			} else {
				group++
			}
			buf[n] = c
			n++
		case c == ',' && d.fracLen < 0:
			if group == 0 || group > 3 || (groups > 0 && group != 3) {
				return decimal{}, commaProblem
			}
			groups++
			group = 0
		case c == '.' && d.fracLen < 0:
			if group == 0 {
				return decimal{}, "not a number"
			}
			if groups > 0 && group != 3 {
				return decimal{}, commaProblem
			}
			d.fracLen = 0
			buf[n] = c
			n++
		default:
			return decimal{}, "not a number"
		}
	}
	switch {
	case d.fracLen == 0 || (d.fracLen < 0 && group == 0):
		return decimal{}, "not a number"
	case d.fracLen < 0 && groups > 0 && group != 3:
		return decimal{}, commaProblem
	}
	d.clean = buf[:n]
	return d, ""
}

// trimBlanks removes spaces, tabs, line breaks and no-break spaces (U+00A0,
// which number formatting puts before "%") around b.
func trimBlanks(b []byte) []byte {
	for {
		switch n := len(b); {
		case n > 0 && isSpace(b[0]):
			b = b[1:]
		case n > 1 && b[0] == 0xC2 && b[1] == 0xA0:
			b = b[2:]
		case n > 0 && isSpace(b[n-1]):
			b = b[:n-1]
		case n > 1 && b[n-2] == 0xC2 && b[n-1] == 0xA0:
			b = b[:n-2]
		default:
			return b
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
