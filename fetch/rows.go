package fetch

// The typing of the data array's rows: each member of a row is read into
// its place and parsed (values.go), or the row is rejected with the reason.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/skill6pub/skill6pub/schema"
)

// maxDNISLen bounds a DNIS. A phone number has at most 15 digits (E.164);
// the bound leaves room for formatting and SIP addresses, and keeps garbage
// out of Kafka keys and event ids.
const maxDNISLen = 128

// The row members, in the order of Metrics.
const (
	fieldInbound = iota
	fieldAnswered
	fieldAbandoned
	fieldSL10
	fieldSL20
	fieldSL30
	fieldAbandonPct
	fieldASA
	fieldATA
	fieldDNIS
	numFields
)

var fieldNames = [numFields]string{
	"inbound_calls", "answer_calls", "abandon_calls",
	"service_level_10seg", "service_level_20seg", "service_level_30seg",
	"abandon", "asa", "ata", "dnis",
}

func fieldIndex(key []byte) int {
	switch string(key) {
	case "dnis":
		return fieldDNIS
	case "inbound_calls":
		return fieldInbound
	case "answer_calls":
		return fieldAnswered
	case "abandon_calls":
		return fieldAbandoned
	case "service_level_10seg":
		return fieldSL10
	case "service_level_20seg":
		return fieldSL20
	case "service_level_30seg":
		return fieldSL30
	case "abandon":
		return fieldAbandonPct
	case "asa":
		return fieldASA
	case "ata":
		return fieldATA
	}
	return -1
}

// value is one row member as it appeared in the body.
type value struct {
	raw     []byte // string contents between the quotes, or the number
	kind    byte   // 0 absent, '"' string, '0' number, 'n' null, else the JSON type's first byte
	escaped bool   // raw holds backslash escapes
}

// rows reads the data array into d.report.
func (d *decoder) rows() error {
	d.i++ // [
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return nil
	}
	n := estimateRows(len(d.b)-d.i, d.announced)
	d.report.Rows = make([]Row, 0, n)
	d.spans = make([]span, 0, n)
	d.dnis = make([]byte, 0, 12*n)
	for index := 0; ; index++ {
		d.ws()
		if d.i >= len(d.b) {
			return d.fail("unexpected end in data")
		}
		start := d.i
		if d.b[d.i] != '{' {
			if err := d.skip(0); err != nil {
				return err
			}
			d.reject(index, start, "the row is "+describe(d.b[start])+", want an object")
		} else if err := d.row(index, start); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.b) {
			return d.fail("unexpected end in data")
		}
		if d.b[d.i] == ',' {
			d.i++
			continue
		}
		if d.b[d.i] == ']' {
			d.i++
			return nil
		}
		return d.fail("want , or ] in data")
	}
}

// estimateRows sizes the rows slice for a data array of n bytes: the count
// msg announced, unless the bytes cannot hold that many rows (the smallest
// is {"dnis":""}), else a guess from the size (a wolkvox row takes about 230
// bytes).
func estimateRows(n, announced int) int {
	if announced > 0 && announced <= n/11 {
		return announced
	}
	return n/230 + 1
}

// row reads one row object starting at start and types it.
func (d *decoder) row(index, start int) error {
	var vals [numFields]value
	d.i++ // {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
	} else {
		for {
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != '"' {
				return d.fail("want a key in a row")
			}
			rawKey, escaped, err := d.str()
			if err != nil {
				return err
			}
			var f int
			if escaped {
				f = fieldIndex([]byte(unquote(rawKey)))
			} else {
				f = fieldIndex(rawKey)
			}
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != ':' {
				return d.fail("want : in a row")
			}
			d.i++
			d.ws()
			if d.i >= len(d.b) {
				return d.fail("unexpected end in a row")
			}
			if f < 0 {
				if err := d.skip(1); err != nil {
					return err
				}
			} else if err := d.member(&vals[f]); err != nil {
				return err
			}
			d.ws()
			if d.i >= len(d.b) {
				return d.fail("unexpected end in a row")
			}
			if d.b[d.i] == ',' {
				d.i++
				continue
			}
			if d.b[d.i] == '}' {
				d.i++
				break
			}
			return d.fail("want , or } in a row")
		}
	}
	row, dnis, reason := typeRow(&vals)
	if reason != "" {
		d.reject(index, start, reason)
		return nil
	}
	d.spans = append(d.spans, span{off: len(d.dnis), n: len(dnis)})
	d.dnis = append(d.dnis, dnis...)
	d.report.Rows = append(d.report.Rows, row)
	return nil
}

// member reads one value of a known row member.
func (d *decoder) member(v *value) error {
	c := d.b[d.i]
	switch {
	case c == '"':
		raw, escaped, err := d.str()
		if err != nil {
			return err
		}
		*v = value{raw: raw, kind: '"', escaped: escaped}
	case c == '-' || isDigit(c):
		start := d.i
		if err := d.number(); err != nil {
			return err
		}
		*v = value{raw: d.b[start:d.i], kind: '0'}
	default:
		if err := d.skip(1); err != nil {
			return err
		}
		*v = value{kind: c}
	}
	return nil
}

func (d *decoder) reject(index, start int, reason string) {
	raw := make(json.RawMessage, d.i-start)
	copy(raw, d.b[start:d.i])
	d.report.Rejected = append(d.report.Rejected, RejectedRow{Index: index, Raw: raw, Reason: reason})
}

// typeRow turns the members of one row into a Row without its DNIS, which
// it returns apart, or says why it cannot.
func typeRow(vals *[numFields]value) (Row, []byte, string) {
	var row Row
	var dnis []byte
	switch v := &vals[fieldDNIS]; v.kind {
	case '"':
		if !utf8.Valid(v.raw) {
			return row, nil, "dnis is not valid UTF-8"
		}
		dnis = v.raw
		if v.escaped {
			dnis = []byte(unquote(v.raw))
		}
		dnis = trimBlanks(dnis)
	case '0':
		dnis = v.raw
	case 0:
		return row, nil, "the row has no dnis"
	default:
		return row, nil, "dnis is " + describe(v.kind) + ", want a string"
	}
	if len(dnis) > maxDNISLen {
		return row, nil, fmt.Sprintf("dnis is %d bytes long, over %d: not a phone number", len(dnis), maxDNISLen)
	}
	m := &row.Metrics
	ints := [...]*schema.NullInt{&m.InboundCalls, &m.AnswerCalls, &m.AbandonCalls}
	for f, dst := range ints {
		if reason := typeValue(&vals[f], f, dst, nil); reason != "" {
			return row, nil, reason
		}
	}
	floats := [...]*schema.NullFloat{&m.ServiceLevel10sPct, &m.ServiceLevel20sPct,
		&m.ServiceLevel30sPct, &m.AbandonPct, &m.ASASeconds, &m.ATASeconds}
	for i, dst := range floats {
		f := fieldSL10 + i
		if reason := typeValue(&vals[f], f, nil, dst); reason != "" {
			return row, nil, reason
		}
	}
	return row, dnis, ""
}

// typeValue parses member f into exactly one of ni and nf.
func typeValue(v *value, f int, ni *schema.NullInt, nf *schema.NullFloat) string {
	switch v.kind {
	case 0, 'n':
		return ""
	case '"', '0':
	default:
		return fieldNames[f] + " is " + describe(v.kind) + ", want a string"
	}
	raw := v.raw
	if v.escaped {
		raw = []byte(unquote(raw))
	}
	var problem string
	switch {
	case ni != nil:
		*ni, problem = parseCount(raw)
	case f == fieldASA || f == fieldATA:
		*nf, problem = parseSeconds(raw)
	default:
		*nf, problem = parsePercent(raw)
	}
	if problem != "" {
		return fmt.Sprintf("%s %s: %s", fieldNames[f], quoteShort(string(raw)), problem)
	}
	return ""
}

// quoteShort quotes s for a message, cut to a readable length.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}
