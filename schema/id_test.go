package schema_test

import (
	"crypto/sha256"
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

// TestSetEventIDsMatchesEventID: the bulk path that reuses the hash state
// gives every event the id EventID gives it, across types, windows,
// revisions and long (pseudonymized) subjects.
func TestSetEventIDsMatchesEventID(t *testing.T) {
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, time.UTC)
	env := func(eventType string, minutes, revision int) schema.Envelope {
		return schema.Envelope{EventType: eventType, Operation: "0032", SkillID: "12", WindowStart: start.Add(time.Duration(minutes) * time.Minute), Revision: revision}
	}
	long := strings.Repeat("ab", 32)
	events := []schema.Event{
		&schema.DNISWindow{Envelope: env(schema.TypeDNISWindow, 0, 0), DNIS: "1"},
		&schema.DNISWindow{Envelope: env(schema.TypeDNISWindow, 0, 0), DNIS: long},
		&schema.DNISGone{Envelope: env(schema.TypeDNISGone, 0, 0), DNIS: "1"},
		&schema.WindowClosed{Envelope: env(schema.TypeWindowClosed, 0, 0)},
		&schema.DNISWindow{Envelope: env(schema.TypeDNISWindow, 5, 0), DNIS: "1"},
		&schema.DNISWindow{Envelope: env(schema.TypeDNISWindow, 5, 1), DNIS: "1"},
		&schema.DNISWindow{Envelope: env(schema.TypeDNISWindow, 5, 1), DNIS: strings.Repeat("9", 300)},
		&schema.WindowClosed{Envelope: env(schema.TypeWindowClosed, 5, 1)},
	}
	schema.SetEventIDs(events)
	seen := map[string]bool{}
	for i, e := range events {
		h := e.Head()
		subject := schema.WindowSubject
		switch e := e.(type) {
		case *schema.DNISWindow:
			subject = e.DNIS
		case *schema.DNISGone:
			subject = e.DNIS
		}
		if want := schema.EventID(h.EventType, h.Operation, h.SkillID, subject, h.WindowStart, h.Revision); h.EventID != want {
			t.Errorf("event %d: SetEventIDs gave %s, EventID %s", i, h.EventID, want)
		}
		if seen[h.EventID] {
			t.Errorf("event %d: id %s given twice", i, h.EventID)
		}
		seen[h.EventID] = true
	}
}
