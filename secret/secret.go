// Package secret holds credentials (the wolkvox token, SASL passwords, the
// DNIS HMAC key) so that they cannot leak by accident: every way Go prints
// or encodes a value shows a redaction marker instead of the secret.
package secret

import (
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
