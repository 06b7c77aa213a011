package schema_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
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
	const want = "f436cd49dfde62ee5c1c54eafa387cf3"
	if got != want {
		t.Errorf("EventID = %s, want %s", got, want)
	}

	// The construction as the package documentation states it, written out
	// byte by byte.
	window := sha256.Sum256([]byte("skill6pub.event_id.v1" +
		"\x00\x00\x00\x0b" + "dnis_window" +
		"\x00\x00\x00\x04" + "0032" +
		"\x00\x00\x00\x02" + "12" +
		"\x00\x00\x00\x00\x67\xcd\xac\xf0" + // 2025-03-09T15:00:00Z = 1741532400
		"\x00\x00\x00\x00\x00\x00\x00\x00")) // revision 0
	sum := sha256.Sum256(append(window[:], "\x00\x00\x00\x0c"+"573001234567"...))
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

// TestIDAppenderFollowsTheDocumentation: ids appended one after the other
// are each what the documented construction gives, for short subjects, for
// pseudonyms (two SHA-256 blocks) and for long ones, whatever came before.
func TestIDAppenderFollowsTheDocumentation(t *testing.T) {
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, time.UTC)
	documented := func(subject string) string {
		var window []byte
		window = append(window, "skill6pub.event_id.v1"...)
		for _, s := range []string{"dnis_gone", "0032", "all"} {
			window = binary.BigEndian.AppendUint32(window, uint32(len(s)))
			window = append(window, s...)
		}
		window = binary.BigEndian.AppendUint64(window, uint64(start.Unix()))
		window = binary.BigEndian.AppendUint64(window, 7)
		sum := sha256.Sum256(window)
		input := binary.BigEndian.AppendUint32(sum[:], uint32(len(subject)))
		id := sha256.Sum256(append(input, subject...))
		return hex.EncodeToString(id[:16])
	}
	subjects := []string{"573001234567", strings.Repeat("ab", 32), "", strings.Repeat("9", 300), "1", schema.WindowSubject}
	a := schema.NewIDAppender("dnis_gone", "0032", "all", start, 7)
	var all []byte
	for _, s := range subjects {
		all = a.Append(all, s)
	}
	for i, s := range subjects {
		got := string(all[i*schema.EventIDLength : (i+1)*schema.EventIDLength])
		if want := documented(s); got != want {
			t.Errorf("subject %q: appended id %s, documented %s", s, got, want)
		}
		if want := schema.EventID("dnis_gone", "0032", "all", s, start, 7); got != want {
			t.Errorf("subject %q: appended id %s, EventID %s", s, got, want)
		}
	}
}
