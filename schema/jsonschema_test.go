package schema_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/schema/schematest"
)

func validate(t testing.TB, s *jsonschema.Schema, value []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(value))
	if err != nil {
		t.Fatalf("not JSON: %v: %s", err, value)
	}
	return s.Validate(inst)
}

func TestGoldenExamplesValidate(t *testing.T) {
	events := schematest.Compile(t, schema.JSONSchemaDocument())
	deadLetters := schematest.Compile(t, schema.DeadLetterJSONSchemaDocument())
	for _, name := range goldenFiles {
		s := events
		if name == "dead_letter.golden" {
			s = deadLetters
		}
		if err := validate(t, s, valueOfGolden(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSchemaRefuses makes sure the schema is strict: a validator that
// accepted these would accept events the contract does not describe.
func TestSchemaRefuses(t *testing.T) {
	events := schematest.Compile(t, schema.JSONSchemaDocument())
	deadLetters := schematest.Compile(t, schema.DeadLetterJSONSchemaDocument())
	edit := func(t *testing.T, name string, change func(map[string]any)) []byte {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal(valueOfGolden(t, name), &v); err != nil {
			t.Fatal(err)
		}
		change(v)
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	metrics := func(v map[string]any) map[string]any { return v["metrics"].(map[string]any) }
	cases := []struct {
		name   string
		golden string
		change func(map[string]any)
	}{
		{"unknown top-level field", "dnis_window.golden", func(v map[string]any) { v["skill_name"] = "ventas" }},
		{"unknown metric", "dnis_window.golden", func(v map[string]any) { metrics(v)["aht_seconds"] = 3 }},
		{"unknown delta member", "dnis_window.golden", func(v map[string]any) { v["delta"].(map[string]any)["x"] = 1 }},
		{"unknown producer member", "dnis_gone.golden", func(v map[string]any) { v["producer"].(map[string]any)["host"] = "a" }},
		{"unknown totals member", "window_closed.golden", func(v map[string]any) { v["totals"].(map[string]any)["x"] = 1 }},
		{"missing metric", "dnis_window.golden", func(v map[string]any) { delete(metrics(v), "ata_seconds") }},
		{"missing envelope field", "window_closed.golden", func(v map[string]any) { delete(v, "fetched_at") }},
		{"count as string", "dnis_window.golden", func(v map[string]any) { metrics(v)["inbound_calls"] = "3" }},
		{"fractional count", "dnis_window.golden", func(v map[string]any) { metrics(v)["inbound_calls"] = 2.5 }},
		{"negative percentage", "dnis_window.golden", func(v map[string]any) { metrics(v)["abandon_pct"] = -1 }},
		{"time without offset", "dnis_gone.golden", func(v map[string]any) { v["window_start"] = "2025-03-09T10:00:00" }},
		{"time not RFC 3339", "dnis_gone.golden", func(v map[string]any) { v["window_start"] = "2025-03-09 10:00:00-05:00" }},
		{"unknown change", "dnis_window.golden", func(v map[string]any) { v["change"] = "moved" }},
		{"new with previous", "dnis_window.golden", func(v map[string]any) { v["change"] = "new" }},
		{"changed without previous", "dnis_window.golden", func(v map[string]any) { v["previous"], v["delta"] = nil, nil }},
		{"unknown previous window with change", "dnis_window.golden", func(v map[string]any) { v["previous_window_known"] = false }},
		{"hashed flag on a plain number", "dnis_window.golden", func(v map[string]any) { v["dnis_hashed"] = true }},
		{"short event id", "dnis_window.golden", func(v map[string]any) { v["event_id"] = "abc" }},
		{"wrong schema version", "dnis_window.golden", func(v map[string]any) { v["schema_version"] = 2 }},
		{"unknown event type", "dnis_gone.golden", func(v map[string]any) { v["event_type"] = "dnis_moved" }},
		{"window_closed fields on dnis_gone", "dnis_gone.golden", func(v map[string]any) { v["row_count"] = 1 }},
		{"unknown previous window with a start", "window_closed.golden", func(v map[string]any) { v["previous_window_known"] = false }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := validate(t, events, edit(t, c.golden, c.change)); err == nil {
				t.Error("the schema accepted it")
			}
		})
	}
	deadCases := map[string]func(map[string]any){
		"unknown field":         func(v map[string]any) { v["topic"] = "x" },
		"unknown source":        func(v map[string]any) { v["source"] = "file" },
		"event with row index":  func(v map[string]any) { v["source"] = "event" },
		"missing raw":           func(v map[string]any) { delete(v, "raw") },
		"unknown producer info": func(v map[string]any) { v["producer"].(map[string]any)["host"] = "a" },
	}
	for name, change := range deadCases {
		t.Run("dead letter "+name, func(t *testing.T) {
			if err := validate(t, deadLetters, edit(t, "dead_letter.golden", change)); err == nil {
				t.Error("the schema accepted it")
			}
		})
	}
}

func TestJSONSchemaDocumentIsACopy(t *testing.T) {
	doc := schema.JSONSchemaDocument()
	if !strings.Contains(string(doc), `"https://json-schema.org/draft/2020-12/schema"`) {
		t.Fatal("not a draft 2020-12 document")
	}
	doc[0] = 'X'
	if schema.JSONSchemaDocument()[0] != '{' {
		t.Error("a caller changed the embedded schema")
	}
}
