package secret

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

const token = "s3cr3t-wolkvox-token"

func TestStringNeverPrintsItsValue(t *testing.T) {
	s := New(token)
	holder := struct {
		Token String `json:"token"`
	}{s}
	var logged strings.Builder
	log := zerolog.New(&logged)
	log.Info().Interface("cfg", holder).Stringer("token", s).Msg("config")
	js, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%+v": fmt.Sprintf("%+v", holder), "%#v": fmt.Sprintf("%#v", holder),
		"%s": fmt.Sprintf("%s", s), "%q": fmt.Sprintf("%q", s), "%x": fmt.Sprintf("%x", s),
		"json": string(js), "zerolog": logged.String(), "error": fmt.Errorf("bad token %v", s).Error(),
	}
	for how, out := range outputs {
		if strings.Contains(out, token) || strings.Contains(out, fmt.Sprintf("%x", token)) {
			t.Errorf("%s printed the secret: %s", how, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s did not show the redaction marker: %s", how, out)
		}
	}
	if s.Reveal() != token {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
}

func TestEmptySecretPrintsNothing(t *testing.T) {
	var s String
	if !s.IsZero() || s.String() != "" {
		t.Errorf("zero String: IsZero %v, String %q", s.IsZero(), s.String())
	}
}

func TestDecodeAndFromFile(t *testing.T) {
	var s String
	if err := s.Decode(token); err != nil || s.Reveal() != token {
		t.Fatalf("Decode: %v, %q", err, s.Reveal())
	}
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := FromFile(path)
	if err != nil || got.Reveal() != token {
		t.Fatalf("FromFile = %q, %v; want the token without its newline", got.Reveal(), err)
	}
	if _, err := FromFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("FromFile of a missing file: no error")
	}
}

func TestScrubRemovesTheSecretAndItsPrefixes(t *testing.T) {
	s := New("s3cr3t-t0ken-0123456789")
	for _, c := range []struct{ in, want string }{
		{"token s3cr3t-t0ken-0123456789 is invalid", "token [REDACTED] is invalid"},
		{"token s3cr3t-t0k... is invalid", "token [REDACTED]... is invalid"},
		{"s3cr3t at the start, s3cr3t-t0ken-01 at the end: s3cr3t-t0ken-0123456789s3cr3t", "[REDACTED] at the start, [REDACTED] at the end: [REDACTED][REDACTED]"},
		{"s3cr3 is too short to say anything", "s3cr3 is too short to say anything"},
		{"nothing here", "nothing here"},
	} {
		if got := s.Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := New("abc").Scrub("ab abc abcd"); got != "ab [REDACTED] [REDACTED]d" {
		t.Errorf("a short secret: Scrub = %q", got)
	}
	if got := (String{}).Scrub("anything"); got != "anything" {
		t.Errorf("an empty secret: Scrub = %q", got)
	}
}
