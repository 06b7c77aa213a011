package schema_test

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/skill6pub/skill6pub/schema"
)

// TestDeadLetterOfARowThatIsNotUTF8IsValidJSON: a rejected row may hold
// bytes that are not UTF-8 (wolkvox sent them); the dead letter must still
// be UTF-8 JSON that strict consumers read, with the row's shape kept.
func TestDeadLetterOfARowThatIsNotUTF8IsValidJSON(t *testing.T) {
	w := &schema.Envelope{Operation: "0032", SkillID: "12", WindowStart: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), WindowEnd: time.Date(2026, 3, 2, 10, 5, 0, 0, time.UTC)}
	d := schema.RowDeadLetter(w, 3, 0, "dnis is not valid UTF-8", json.RawMessage("{\"dnis\":\"57\xff\xfe\",\"inbound_calls\":\"1\"}"), false)
	m, err := schema.EncodeDeadLetter(d)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(m.Value) || !json.Valid(m.Value) {
		t.Fatalf("dead letter is not UTF-8 JSON: %q", m.Value)
	}
	var back struct {
		Raw struct{ DNIS string } `json:"raw"`
	}
	if err := json.Unmarshal(m.Value, &back); err != nil || back.Raw.DNIS != "57\uFFFD" {
		t.Errorf("raw row = %+v, %v; want its object with the bad bytes replaced", back, err)
	}
}
