package schema

import (
	"bytes"
	"os"
	"testing"
)

// TestREADMEShowsTheGoldenEvents keeps the examples in README.md equal to
// the golden files, which the tests check against the code and the schema.
func TestREADMEShowsTheGoldenEvents(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dnis_window", "dnis_gone", "window_closed", "dead_letter"} {
		golden, err := os.ReadFile("testdata/" + name + ".golden")
		if err != nil {
			t.Fatal(err)
		}
		_, body, found := bytes.Cut(golden, []byte("\n\n"))
		if !found {
			t.Fatalf("%s.golden has no blank line between headers and value", name)
		}
		if !bytes.Contains(readme, bytes.TrimSpace(body)) {
			t.Errorf("README.md does not show the current %s example (schema/testdata/%s.golden)", name, name)
		}
	}
}
