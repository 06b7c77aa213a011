package fetch

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/skill6pub/skill6pub/schema"
)

// RowCap is wolkvox's limit of rows per response. A response that reaches it
// may have been cut short, and Report.MaybeTruncated says so.
const RowCap = 60000

// maxDNISLen bounds a DNIS. A phone number has at most 15 digits (E.164);
// the bound leaves room for formatting and SIP addresses, and keeps garbage
// out of Kafka keys and event ids.
const maxDNISLen = 128

// maxNesting bounds how deep Decode follows nested JSON values it skips, as
// encoding/json does, so that a hostile body cannot exhaust the stack.
const maxNesting = 10000

// Decode types the body of a skill_6 response that came with HTTP 200.
//
// The body is {"code":..., "error":..., "msg":..., "data":[...]} where code is
// a number or a numeric string. A code other than 200 is an error even under
// HTTP 200 (classified like the same HTTP status), except 404 "Validate dates
// entered", which is a valid window without calls (Report.NoData). data may
// be an array, null or missing (a window without rows; missing is an error
// when msg announces rows).
//
// Each row's values are strings as wolkvox sends them; numbers and null are
// accepted too. Counts are whole numbers; percentages and seconds accept
// "28.81 %", "28.81%", "28.81", "9,336.00 %" (comma = thousands), "00:01:16",
// "01:16" and plain seconds, with blanks around. An empty value is "no value"
// (Valid false), never 0. A row that does not type goes to Report.Rejected
// with its raw JSON and the reason; the other rows are kept. Keys are matched
// exactly; unknown keys are ignored; a row without "dnis" is rejected.
//
// A body that is not JSON or has the wrong shape is a KindMalformed *Error.
func Decode(body []byte) (Report, error) {
	d := decoder{b: body}
	env, err := d.envelope(true)
	if err != nil {
		return Report{}, &Error{Kind: KindMalformed, Op: "decode", Msg: "the body is not a skill_6 response", Err: err}
	}
	if env.codeProblem != "" {
		return Report{}, &Error{Kind: KindMalformed, Op: "decode", Msg: env.codeProblem}
	}
	if env.code != 200 {
		v := classify(env.code, env.text())
		if v.noData {
			return Report{NoData: true}, nil
		}
		return Report{}, &Error{Kind: v.kind, Op: "decode", Status: env.code, Msg: v.msg}
	}
	switch env.data {
	case dataArray:
	case dataMissing, dataNull:
		if n, ok := announcedRows(env.msg); ok && n > 0 {
			return Report{}, &Error{Kind: KindMalformed, Op: "decode",
				Msg: fmt.Sprintf("msg announces %d rows but data is %s", n, env.data)}
		}
	default:
		return Report{}, &Error{Kind: KindMalformed, Op: "decode",
			Msg: fmt.Sprintf("data is %s, want an array of rows", env.data)}
	}
	d.finish()
	rep := d.report
	rep.MaybeTruncated = len(rep.Rows)+len(rep.Rejected) >= RowCap
	return rep, nil
}

// announcedRows reads the row count from a msg like "12 records were found".
func announcedRows(msg string) (int, bool) {
	i := 0
	for i < len(msg) && msg[i] >= '0' && msg[i] <= '9' {
		i++
	}
	if i == 0 || !strings.HasPrefix(msg[i:], " record") {
		return 0, false
	}
	n, err := strconv.Atoi(msg[:i])
	return n, err == nil
}

// dataKind is what the "data" member of a body was.
type dataKind uint8

const (
	dataMissing dataKind = iota
	dataNull
	dataArray
	dataObject
	dataString
	dataNumber
	dataBool
)

func (k dataKind) String() string {
	return [...]string{"missing", "null", "an array", "an object", "a string", "a number", "a boolean"}[k]
}

// envelope is the top level of a body, rows aside.
type envelope struct {
	code        int
	codeProblem string // why code is unusable, "" when it is fine
	msg         string
	errText     string
	data        dataKind
}

// text is what wolkvox said, for classifying and for error messages.
func (e envelope) text() string {
	switch {
	case e.errText == "":
		return e.msg
	case e.msg == "" || e.msg == e.errText:
		return e.errText
	}
	return e.errText + ": " + e.msg
}

// decoder reads a body in one pass without building a generic tree: a
// 100,000-row window is typed at millions of rows per second.
type decoder struct {
	b      []byte
	i      int
	report Report
	// announced is the row count msg announced, when msg came before data.
	announced int
	// dnis holds every row's DNIS back to back, spans where each is: the
	// rows' DNIS strings are cut from one string made at the end, one
	// allocation instead of one per row.
	dnis  []byte
	spans []span
}

type span struct{ off, n int }

// finish gives the rows their DNIS. The strings share one backing array of
// the window's DNIS bytes, about ten bytes per row.
func (d *decoder) finish() {
	all := string(d.dnis)
	for i, sp := range d.spans {
		d.report.Rows[i].DNIS = all[sp.off : sp.off+sp.n]
	}
}

// syntaxError is a JSON syntax error at a byte offset.
type syntaxError struct {
	off  int
	what string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.what)
}

func (d *decoder) fail(what string) error { return &syntaxError{off: d.i, what: what} }

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// envelope reads the whole body. With rows, the data array is typed into
// d.report; without, it is only checked.
func (d *decoder) envelope(rows bool) (envelope, error) {
	var env envelope
	env.codeProblem = "the body has no code"
	d.ws()
	if d.i >= len(d.b) {
		return env, d.fail("empty body")
	}
	if first := d.b[d.i]; first != '{' {
		if err := d.skip(0); err != nil {
			return env, err
		}
		if d.ws(); d.i != len(d.b) {
			return env, d.fail("data after the end of the value")
		}
		return env, errors.New("the body is " + describe(first) + ", want an object")
	}
	d.i++
	first := true
	for {
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == '}' && first {
			d.i++
			break
		}
		key, err := d.key()
		if err != nil {
			return env, err
		}
		switch key {
		case "code":
			err = d.code(&env)
		case "msg":
			env.msg, err = d.text()
			d.announced, _ = announcedRows(env.msg)
		case "error":
			env.errText, err = d.text()
		case "data":
			d.report, d.dnis, d.spans = Report{}, d.dnis[:0], d.spans[:0]
			env.data, err = d.data(rows)
		default:
			err = d.skip(0)
		}
		if err != nil {
			return env, err
		}
		d.ws()
		if d.i >= len(d.b) {
			return env, d.fail("unexpected end")
		}
		if d.b[d.i] == ',' {
			d.i++
			first = false
			continue
		}
		if d.b[d.i] == '}' {
			d.i++
			break
		}
		return env, d.fail("want , or }")
	}
	d.ws()
	if d.i != len(d.b) {
		return env, d.fail("data after the end of the object")
	}
	return env, nil
}

// key reads an object key and the colon after it.
func (d *decoder) key() (string, error) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", d.fail("want a key")
	}
	raw, escaped, err := d.str()
	if err != nil {
		return "", err
	}
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return "", d.fail("want :")
	}
	d.i++
	d.ws()
	if escaped {
		return unquote(raw), nil
	}
	return string(raw), nil
}

// code reads the code member, a number or a numeric string.
func (d *decoder) code(env *envelope) error {
	if d.i >= len(d.b) {
		return d.fail("unexpected end")
	}
	var s string
	switch c := d.b[d.i]; {
	case c == '"':
		raw, escaped, err := d.str()
		if err != nil {
			return err
		}
		s = string(raw)
		if escaped {
			s = unquote(raw)
		}
		s = strings.TrimSpace(s)
	case c == '-' || isDigit(c):
		start := d.i
		if err := d.number(); err != nil {
			return err
		}
		s = string(d.b[start:d.i])
	default:
		start := d.i
		if err := d.skip(0); err != nil {
			return err
		}
		env.codeProblem = "code is " + describe(d.b[start])
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		env.codeProblem = fmt.Sprintf("code %s is not a whole number", quoteShort(s))
		return nil
	}
	env.code, env.codeProblem = n, ""
	return nil
}

// text reads a member that should hold a message: a string gives its text,
// anything else gives "".
func (d *decoder) text() (string, error) {
	if d.i < len(d.b) && d.b[d.i] == '"' {
		raw, escaped, err := d.str()
		if err != nil {
			return "", err
		}
		if escaped {
			return unquote(raw), nil
		}
		return string(raw), nil
	}
	return "", d.skip(0)
}

// data reads the data member.
func (d *decoder) data(rows bool) (dataKind, error) {
	if d.i >= len(d.b) {
		return dataMissing, d.fail("unexpected end")
	}
	var kind dataKind
	switch c := d.b[d.i]; {
	case c == '[':
		if rows {
			return dataArray, d.rows()
		}
		kind = dataArray
	case c == 'n':
		kind = dataNull
	case c == '{':
		kind = dataObject
	case c == '"':
		kind = dataString
	case c == 't' || c == 'f':
		kind = dataBool
	default:
		kind = dataNumber
	}
	return kind, d.skip(0)
}

// describe names the JSON type of the value starting with c.
func describe(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	}
	return "a number"
}

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

// unquote decodes the contents of a JSON string that holds escapes, exactly
// as encoding/json does. The contents were already checked by str.
func unquote(raw []byte) string {
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(quoted, '"')
	quoted = append(quoted, raw...)
	quoted = append(quoted, '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return string(raw) // unreachable: str validated the escapes
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// str reads a JSON string at d.i and returns its contents without the
// quotes, and whether they hold escapes.
func (d *decoder) str() (raw []byte, escaped bool, err error) {
	d.i++ // opening quote
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		if plainInString[c] {
			d.i++
			continue
		}
		switch {
		case c == '"':
			raw = d.b[start:d.i]
			d.i++
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			d.i++
			if d.i >= len(d.b) {
				return nil, false, d.fail("unexpected end in a string")
			}
			switch d.b[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				if d.i+4 >= len(d.b) {
					return nil, false, d.fail("unexpected end in a string")
				}
				for _, h := range d.b[d.i+1 : d.i+5] {
					if !isHex(h) {
						return nil, false, d.fail("bad \\u escape")
					}
				}
				d.i += 5
			default:
				return nil, false, d.fail("bad escape")
			}
		default: // below 0x20
			return nil, false, d.fail("control character in a string")
		}
	}
	return nil, false, d.fail("unexpected end in a string")
}

// plainInString marks the bytes that a JSON string holds as they are: all
// but the quote, the backslash and control characters.
var plainInString = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number checks a JSON number at d.i and moves past it.
func (d *decoder) number() error {
	if d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i >= len(d.b):
		return d.fail("unexpected end in a number")
	case d.b[d.i] == '0':
		d.i++
	case isDigit(d.b[d.i]):
		for d.i < len(d.b) && isDigit(d.b[d.i]) {
			d.i++
		}
	default:
		return d.fail("bad number")
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if d.i >= len(d.b) || !isDigit(d.b[d.i]) {
			return d.fail("bad number")
		}
		for d.i < len(d.b) && isDigit(d.b[d.i]) {
			d.i++
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.i >= len(d.b) || !isDigit(d.b[d.i]) {
			return d.fail("bad number")
		}
		for d.i < len(d.b) && isDigit(d.b[d.i]) {
			d.i++
		}
	}
	return nil
}

// skip checks any JSON value at d.i and moves past it; depth is how deeply
// nested it is.
func (d *decoder) skip(depth int) error {
	if depth > maxNesting {
		return d.fail("nested too deeply")
	}
	d.ws()
	if d.i >= len(d.b) {
		return d.fail("unexpected end")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, _, err := d.str()
		return err
	case c == '-' || isDigit(c):
		return d.number()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '[':
		d.i++
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			return nil
		}
		for {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.i >= len(d.b) {
				return d.fail("unexpected end in an array")
			}
			if d.b[d.i] == ',' {
				d.i++
				continue
			}
			if d.b[d.i] == ']' {
				d.i++
				return nil
			}
			return d.fail("want , or ]")
		}
	case c == '{':
		d.i++
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			return nil
		}
		for {
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != '"' {
				return d.fail("want a key")
			}
			if _, _, err := d.str(); err != nil {
				return err
			}
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != ':' {
				return d.fail("want :")
			}
			d.i++
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.i >= len(d.b) {
				return d.fail("unexpected end in an object")
			}
			if d.b[d.i] == ',' {
				d.i++
				continue
			}
			if d.b[d.i] == '}' {
				d.i++
				return nil
			}
			return d.fail("want , or }")
		}
	}
	return d.fail("unexpected character")
}

func (d *decoder) literal(lit string) error {
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return d.fail("bad literal")
	}
	d.i += len(lit)
	return nil
}
