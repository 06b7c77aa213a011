package schema_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/schema"
)

// TestEventIDGoldenVector pins the id construction. If it fails, every id
// ever published changes and consumers stop deduplicating across the
// change: do not update the vector without a new schema version.
func TestEventIDGoldenVector(t *testing.T) {
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, time.FixedZone("COT", -5*3600))
	got := schema.EventID("dnis_window", "0032", "12", "573001234567", start, 0)
	const want = "a5be24bf0154fcf53cd3fd1bde0cc8aa"
	if got != want {
		t.Errorf("EventID = %s, want %s", got, want)
	}

	// The construction as the package documentation states it, written out
	// byte by byte.
	input := "skill6pub.event_id.v1" +
		"\x00\x00\x00\x0b" + "dnis_window" +
		"\x00\x00\x00\x04" + "0032" +
		"\x00\x00\x00\x02" + "12" +
		"\x00\x00\x00\x0c" + "573001234567" +
		"\x00\x00\x00\x00\x67\xcd\xac\xf0" + // 2025-03-09T15:00:00Z = 1741532400
		"\x00\x00\x00\x00\x00\x00\x00\x00"
	sum := sha256.Sum256([]byte(input))
	if doc := hex.EncodeToString(sum[:16]); doc != want {
		t.Errorf("documented construction gives %s, EventID %s", doc, want)
	}
}

func TestEventIDDependsOnEveryInput(t *testing.T) {
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, time.UTC)
	base := schema.EventID("dnis_window", "0032", "12", "5730012", start, 0)
	others := map[string]string{
		"type":     schema.EventID("dnis_gone", "0032", "12", "5730012", start, 0),
		"op":       schema.EventID("dnis_window", "0033", "12", "5730012", start, 0),
		"skill":    schema.EventID("dnis_window", "0032", "13", "5730012", start, 0),
		"dnis":     schema.EventID("dnis_window", "0032", "12", "5730013", start, 0),
		"start":    schema.EventID("dnis_window", "0032", "12", "5730012", start.Add(5*time.Minute), 0),
		"revision": schema.EventID("dnis_window", "0032", "12", "5730012", start, 1),
		// Without length prefixes these two would hash the same bytes.
		"boundary": schema.EventID("dnis_window", "0032", "125", "730012", start, 0),
	}
	for name, id := range others {
		if id == base {
			t.Errorf("changing %s kept the id %s", name, id)
		}
	}
	sameInstant := schema.EventID("dnis_window", "0032", "12", "5730012", start.In(time.FixedZone("COT", -5*3600)), 0)
	if sameInstant != base {
		t.Error("the id depends on the zone the window start is written in")
	}
}
