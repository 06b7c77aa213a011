package fetch

// The JSON scanner under Decode: it walks a body byte by byte without
// building a tree, and knows nothing of wolkvox (decode.go reads the
// envelope with it, rows.go types the rows).

import (
	"encoding/json"
	"fmt"
)

// maxNesting bounds how deep Decode follows nested JSON values it skips, as
// encoding/json does, so that a hostile body cannot exhaust the stack.
const maxNesting = 10000

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
