package fetch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// RowCap is wolkvox's limit of rows per response. A response that reaches it
// may have been cut short, and Report.MaybeTruncated says so.
const RowCap = 60000

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
