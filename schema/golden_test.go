package schema_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skill6pub/skill6pub/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./schema -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the encoding (go test ./schema -update rewrites it after a deliberate change):\n got: %s\nwant: %s", path, got, want)
	}
}

// describe renders a message as the golden files hold it: key and headers,
// then the value indented, so that a diff of the contract reads well.
func describe(t *testing.T, m schema.Message) []byte {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "key: %s\n", m.Key)
	for _, h := range m.Headers {
		fmt.Fprintf(&b, "header %s: %s\n", h.Key, h.Value)
	}
	b.WriteString("\n")
	if err := json.Indent(&b, m.Value, "", "  "); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	return b.Bytes()
}

// valueOfGolden returns the JSON value of a golden file.
func valueOfGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	_, value, ok := strings.Cut(string(b), "\n\n")
	if !ok {
		t.Fatalf("%s: no blank line between headers and value", name)
	}
	return []byte(value)
}

var goldenFiles = []string{"dnis_window.golden", "dnis_gone.golden", "window_closed.golden", "dead_letter.golden"}

func TestGoldenMessages(t *testing.T) {
	events := map[string]schema.Event{
		"dnis_window.golden":   sampleDNISWindow(),
		"dnis_gone.golden":     sampleDNISGone(),
		"window_closed.golden": sampleWindowClosed(),
	}
	for name, e := range events {
		t.Run(name, func(t *testing.T) {
			m, err := schema.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, describe(t, m))
		})
	}
	t.Run("dead_letter.golden", func(t *testing.T) {
		m, err := schema.EncodeDeadLetter(sampleDeadLetter())
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "dead_letter.golden", describe(t, m))
	})
}
