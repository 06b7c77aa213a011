// Package secret holds credentials (the wolkvox token, SASL passwords, the
// DNIS HMAC key) so that they cannot leak by accident: every way Go prints
// or encodes a value shows a redaction marker instead of the secret.
package secret

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Redacted is what a String prints instead of its value.
const Redacted = "[REDACTED]"

// String is a secret text. Only Reveal returns the text itself.
type String struct {
	value string
}

// New wraps a secret text.
func New(v string) String { return String{value: v} }

// Reveal returns the secret. Call it only where the secret is sent to its
// rightful destination (an HTTP header, a SASL exchange, an HMAC).
func (s String) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s String) IsZero() bool { return s.value == "" }

// String implements fmt.Stringer with a redaction marker.
func (s String) String() string {
	if s.value == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the secret.
func (s String) GoString() string { return `secret.String("` + s.String() + `")` }

// Format keeps every fmt verb, %x included, from printing the secret.
func (s String) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalText keeps encoders (JSON, zerolog) from printing the secret.
func (s String) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Decode lets envconfig read a secret from the environment.
func (s *String) Decode(v string) error {
	s.value = v
	return nil
}

// FromFile reads a secret from a file, trimming the trailing newline that
// editors and `echo` leave. The error names the file, never its content.
func FromFile(path string) (String, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return String{}, fmt.Errorf("read secret file: %w", err)
	}
	return New(strings.TrimRight(string(b), "\r\n")), nil
}

// minEchoedPrefix is the shortest prefix of a secret that Scrub removes: an
// upstream that echoes the start of a token ("token abc123... invalid")
// gives part of it away. Shorter runs are too common in ordinary text to
// remove without mangling it, and give little away.
const minEchoedPrefix = 6

// Scrub returns text with every occurrence of the secret, and of every
// prefix of it of 6 bytes or more (the whole secret when it is shorter),
// replaced by Redacted. It is for text that came from outside and may echo
// the secret: an upstream's error message, a body that goes on to Kafka.
func (s String) Scrub(text string) string {
	return string(s.ScrubBytes([]byte(text)))
}

// ScrubBytes is Scrub on bytes; it returns b itself when nothing matched.
func (s String) ScrubBytes(b []byte) []byte {
	if s.value == "" {
		return b
	}
	probe := []byte(s.value[:min(len(s.value), minEchoedPrefix)])
	i := bytes.Index(b, probe)
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i >= 0 {
		n := len(probe)
		for n < len(s.value) && i+n < len(b) && b[i+n] == s.value[n] {
			n++
		}
		out = append(append(out, b[:i]...), Redacted...)
		b = b[i+n:]
		i = bytes.Index(b, probe)
	}
	return append(out, b...)
}
