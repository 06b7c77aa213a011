package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/skill6pub/skill6pub/schema"
)

func headers(m schema.Message) map[string]string {
	h := map[string]string{}
	for _, hd := range m.Headers {
		h[hd.Key] = string(hd.Value)
	}
	return h
}

func TestEncodeKeyAndHeaders(t *testing.T) {
	cases := []struct {
		event        schema.Event
		key, subject string
	}{
		{sampleDNISWindow(), "0032:12:573001234567", "573001234567"},
		{sampleDNISGone(), "0032:12:573109876543", "573109876543"},
		{sampleWindowClosed(), "0032:12", "2025-03-09T10:00:00-05:00"},
	}
	for _, c := range cases {
		m, err := schema.Encode(c.event)
		if err != nil {
			t.Fatal(err)
		}
		h := c.event.Head()
		want := map[string]string{
			"ce_specversion": "1.0",
			"ce_id":          h.EventID,
			"ce_type":        "com.github.skill6pub." + h.EventType + ".v1",
			"ce_source":      "/wolkvox/0032/skill_6/12",
			"ce_subject":     c.subject,
			"ce_time":        "2025-03-09T10:05:00-05:00",
			"ce_dataschema":  "https://github.com/skill6pub/skill6pub/schema/events.v1.schema.json#/$defs/" + h.EventType,
			"content-type":   "application/json",
		}
		if got := headers(m); len(got) != len(want) || string(m.Key) != c.key {
			t.Errorf("%s: key %s headers %v; want %s %v", h.EventType, m.Key, got, c.key, want)
		}
		for k, v := range want {
			if headers(m)[k] != v {
				t.Errorf("%s: header %s = %q, want %q", h.EventType, k, headers(m)[k], v)
			}
		}
	}
}

func TestCloudEventSourceEscapes(t *testing.T) {
	if got := schema.CloudEventSource("0032", "a/b c"); got != "/wolkvox/0032/skill_6/a%2Fb%20c" {
		t.Errorf("CloudEventSource = %s", got)
	}
}

// TestEncodeDecodeRoundTrip: what a consumer decodes re-encodes to the same
// bytes, so times keep their offset and nulls stay null.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, e := range []schema.Event{sampleDNISWindow(), sampleDNISGone(), sampleWindowClosed()} {
		m, err := schema.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		var back schema.Event
		switch e.(type) {
		case *schema.DNISWindow:
			back = &schema.DNISWindow{}
		case *schema.DNISGone:
			back = &schema.DNISGone{}
		default:
			back = &schema.WindowClosed{}
		}
		if err := json.Unmarshal(m.Value, back); err != nil {
			t.Fatal(err)
		}
		again, err := schema.Encode(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Value, m.Value) {
			t.Errorf("round trip changed the event:\n%s\n%s", m.Value, again.Value)
		}
		if !strings.Contains(string(m.Value), `"window_start":"2025-03-09T10:00:00-05:00"`) {
			t.Errorf("window_start lost its offset: %s", m.Value)
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	wrongType := sampleDNISGone()
	wrongType.EventType = schema.TypeDNISWindow
	noID := sampleWindowClosed()
	noID.EventID = ""
	oldVersion := sampleDNISWindow()
	oldVersion.SchemaVersion = 0
	nan := sampleDNISWindow()
	nan.Metrics.ASASeconds = schema.FloatOf(math.NaN())
	cases := []struct {
		name  string
		event schema.Event
		is    error
	}{
		{"type of another event", wrongType, schema.ErrInvalidEvent},
		{"no id", noID, schema.ErrInvalidEvent},
		{"no schema version", oldVersion, schema.ErrInvalidEvent},
		{"NaN metric", nan, schema.ErrNotFinite},
	}
	for _, c := range cases {
		_, err := schema.Encode(c.event)
		var ee *schema.EncodeError
		if !errors.Is(err, c.is) || !errors.As(err, &ee) || ee.ID != c.event.Head().EventID {
			t.Errorf("%s: Encode error %v, want an *EncodeError for %s wrapping %v", c.name, err, c.event.Head().EventID, c.is)
		}
	}
}

func TestEncodeDeadLetter(t *testing.T) {
	d := sampleDeadLetter()
	m, err := schema.EncodeDeadLetter(d)
	if err != nil {
		t.Fatal(err)
	}
	h := headers(m)
	if string(m.Key) != "0032:12" || h["ce_id"] != d.DeadLetterID || h["ce_type"] != "com.github.skill6pub.dead_letter.v1" || h["reason"] != d.Reason {
		t.Errorf("key %s headers %v", m.Key, h)
	}
	var back map[string]any
	if err := json.Unmarshal(m.Value, &back); err != nil {
		t.Fatal(err)
	}
	if back["raw"].(map[string]any)["inbound_calls"] != "tres" || back["row_index"] != 1.0 || back["source"] != "row" {
		t.Errorf("dead letter lost the row: %s", m.Value)
	}
}

func TestDeadLetterIDs(t *testing.T) {
	env := sampleEnvelope(schema.TypeDNISWindow, "")
	raw := json.RawMessage(`{"dnis":"1"}`)
	a := schema.RowDeadLetter(&env, 3, 0, "x", raw, false)
	if b := schema.RowDeadLetter(&env, 3, 0, "other reason", raw, false); b.DeadLetterID != a.DeadLetterID {
		t.Error("the same row of the same window got two ids")
	}
	// A re-fetch sees the same bad row elsewhere in the response, in
	// another revision of the window: it is the same dead letter.
	env.Revision = 1
	if b := schema.RowDeadLetter(&env, 7, 0, "x", raw, false); b.DeadLetterID != a.DeadLetterID {
		t.Error("the same row in a revision of the window got another id")
	}
	ids := map[string]string{
		"row":                     a.DeadLetterID,
		"an identical second row": schema.RowDeadLetter(&env, 4, 1, "x", raw, false).DeadLetterID,
		"another row":             schema.RowDeadLetter(&env, 3, 0, "x", json.RawMessage(`{"dnis":"2"}`), false).DeadLetterID,
		"typed row":               schema.TypedRowDeadLetter(&env, 0, "x", raw, false).DeadLetterID,
		"event":                   schema.EventDeadLetter(sampleDNISWindow(), raw, "too large").DeadLetterID,
	}
	seen := map[string]string{}
	for name, id := range ids {
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share the id %s", name, other, id)
		}
		seen[id] = name
	}
}

func TestDeadLetterKeepsInvalidJSONReadable(t *testing.T) {
	env := sampleEnvelope(schema.TypeDNISWindow, "")
	d := schema.RowDeadLetter(&env, 0, 0, "truncated", json.RawMessage(`{"dnis":"57`), false)
	m, err := schema.EncodeDeadLetter(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Value), `"raw":"{\"dnis\":\"57"`) {
		t.Errorf("raw not kept as a string: %s", m.Value)
	}
}

func TestEventDeadLetter(t *testing.T) {
	e := sampleDNISWindow()
	e.DNISHashed = true
	m, err := schema.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	d := schema.EventDeadLetter(e, m.Value, "message too large")
	if d.Source != schema.DeadLetterEvent || d.RowIndex.Valid || !d.DNISHashed || !bytes.Equal(d.Raw, m.Value) ||
		d.Revision != e.Revision || !d.WindowStart.Equal(e.WindowStart) || d.SkillID != e.SkillID {
		t.Errorf("EventDeadLetter = %+v", d)
	}
}

// Every ce_dataschema names the $id of a schema document this build embeds
// and, for an event, a definition of that document for its type.
func TestDataSchemaPointsIntoTheEmbeddedSchemas(t *testing.T) {
	docs := map[string][]byte{
		schema.EventsSchemaID():     schema.JSONSchemaDocument(),
		schema.DeadLetterSchemaID(): schema.DeadLetterJSONSchemaDocument(),
	}
	for id, doc := range docs {
		var d struct {
			ID   string                     `json:"$id"`
			Defs map[string]json.RawMessage `json:"$defs"`
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		if d.ID != id {
			t.Errorf("document $id %q, ce_dataschema says %q", d.ID, id)
		}
		for _, recordType := range []string{schema.TypeDNISWindow, schema.TypeDNISGone, schema.TypeWindowClosed, schema.TypeDeadLetter} {
			uri := schema.DataSchema(recordType)
			base, fragment, _ := strings.Cut(uri, "#")
			if base != id {
				continue
			}
			name, ok := strings.CutPrefix(fragment, "/$defs/")
			if fragment != "" && (!ok || d.Defs[name] == nil) {
				t.Errorf("ce_dataschema %s: no such definition in %s", uri, id)
			}
		}
	}
}
