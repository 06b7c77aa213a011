package fetch

import (
	"strconv"

	"github.com/skill6pub/skill6pub/schema"
)

// maxValueLen bounds one value; nothing wolkvox sends comes close.
const maxValueLen = 40

// parseCount types a call count: a whole number, commas allowed as
// thousands separators, blanks around; empty is no value. The second result
// says what is wrong, "" when nothing is.
func parseCount(b []byte) (schema.NullInt, string) {
	b = trimBlanks(b)
	if len(b) == 0 {
		return schema.NullInt{}, ""
	}
	var buf [maxValueLen]byte
	clean, fraction, problem := cleanNumber(b, &buf)
	if problem != "" {
		return schema.NullInt{}, problem
	}
	if fraction {
		return schema.NullInt{}, "not a whole number"
	}
	n, err := strconv.ParseInt(string(clean), 10, 64)
	if err != nil {
		return schema.NullInt{}, "too large"
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
	v, problem := parseDecimal(b)
	if problem != "" {
		return schema.NullFloat{}, problem
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
			return parseClock(b)
		}
	}
	v, problem := parseDecimal(b)
	if problem != "" {
		return schema.NullFloat{}, problem
	}
	return schema.FloatOf(v), ""
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
	clean, _, problem := cleanNumber(b, &buf)
	if problem != "" {
		return 0, problem
	}
	v, err := strconv.ParseFloat(string(clean), 64)
	if err != nil {
		return 0, "not a number" // unreachable: cleanNumber checked the syntax
	}
	return v, ""
}

// cleanNumber checks digits[.digits] where the whole part may group
// thousands with commas ("9,336.00"), and returns it without the commas
// (in buf when a copy is needed) and whether it has a fraction.
func cleanNumber(b []byte, buf *[maxValueLen]byte) (clean []byte, fraction bool, problem string) {
	if len(b) > maxValueLen {
		return nil, false, "too long"
	}
	if len(b) == 0 {
		return nil, false, "not a number"
	}
	if b[0] == '-' {
		return nil, false, "negative"
	}
	whole := b
	for i, c := range b {
		if c == '.' {
			whole = b[:i]
			frac := b[i+1:]
			if len(frac) == 0 || !allDigits(frac) {
				return nil, false, "not a number"
			}
			fraction = true
			break
		}
	}
	if len(whole) == 0 {
		return nil, false, "not a number"
	}
	commas := 0
	for _, c := range whole {
		if c == ',' {
			commas++
		} else if !isDigit(c) {
			return nil, false, "not a number"
		}
	}
	if commas == 0 {
		return b, fraction, ""
	}
	// Groups of three digits after the first group of one to three: a
	// decimal comma ("28,81") is refused rather than misread.
	group := 0
	first := true
	for _, c := range whole {
		if c != ',' {
			group++
			continue
		}
		if (first && (group == 0 || group > 3)) || (!first && group != 3) {
			return nil, false, "commas must separate thousands (like 9,336.00)"
		}
		first, group = false, 0
	}
	if group != 3 {
		return nil, false, "commas must separate thousands (like 9,336.00)"
	}
	n := 0
	for _, c := range b {
		if c != ',' {
			buf[n] = c
			n++
		}
	}
	return buf[:n], fraction, ""
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
