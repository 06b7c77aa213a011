package schema_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/skill6pub/skill6pub/schema"
)

var testTopics = schema.Topics{
	Events: "wolkvox.skill6.dnis-service-level", DeadLetters: "wolkvox.skill6.dnis-service-level.dlq",
	Table: "wolkvox.skill6.dnis-service-level.table", State: "wolkvox.skill6.dnis-service-level.state",
}

// asyncAPI is the parts of an AsyncAPI document the tests read.
type asyncAPI struct {
	Channels map[string]struct {
		Address  string                       `json:"address"`
		Messages map[string]map[string]string `json:"messages"`
		Bindings struct {
			Kafka struct {
				Topic              string              `json:"topic"`
				TopicConfiguration map[string][]string `json:"topicConfiguration"`
			} `json:"kafka"`
		} `json:"bindings"`
	} `json:"channels"`
	Components struct {
		Messages map[string]struct {
			Name    string `json:"name"`
			Headers struct {
				Properties map[string]struct {
					Const   *string `json:"const"`
					Pattern string  `json:"pattern"`
				} `json:"properties"`
				Required []string `json:"required"`
			} `json:"headers"`
			Payload  map[string]any `json:"payload"`
			Bindings struct {
				Kafka struct {
					Key struct {
						Pattern string `json:"pattern"`
					} `json:"key"`
				} `json:"kafka"`
			} `json:"bindings"`
		} `json:"messages"`
	} `json:"components"`
}

func TestAsyncAPIDocumentGolden(t *testing.T) {
	doc, err := schema.AsyncAPIDocument(testTopics)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "asyncapi.golden.json", append(doc, '\n'))
}

// The AsyncAPI document says what the code sends: for each record of the
// sample window (real output), the message of its type lists exactly the
// headers the encoder writes, with the constant values it writes, a key
// pattern the key matches, and a payload the value validates against.
func TestAsyncAPIDocumentDescribesTheRecords(t *testing.T) {
	raw, err := schema.AsyncAPIDocument(testTopics)
	if err != nil {
		t.Fatal(err)
	}
	var doc asyncAPI
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	compiler := jsonschema.NewCompiler()
	compiler.AssertFormat()
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := compiler.AddResource("mem://asyncapi.json", parsed); err != nil {
		t.Fatal(err)
	}

	type record struct {
		message string
		m       schema.Message
	}
	var records []record
	for _, e := range sampleOutput().Events.All() {
		m, err := schema.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, record{map[string]string{
			schema.TypeDNISWindow: "dnisWindow", schema.TypeDNISGone: "dnisGone", schema.TypeWindowClosed: "windowClosed",
		}[e.Head().EventType], m})
	}
	d, err := schema.EncodeDeadLetter(sampleDeadLetter())
	if err != nil {
		t.Fatal(err)
	}
	records = append(records, record{"deadLetter", d})

	for _, r := range records {
		msg, ok := doc.Components.Messages[r.message]
		if !ok {
			t.Errorf("no message %s", r.message)
			continue
		}
		var names []string
		for _, h := range r.m.Headers {
			names = append(names, h.Key)
			p, ok := msg.Headers.Properties[h.Key]
			switch {
			case !ok:
				t.Errorf("%s: header %s is not in the document", r.message, h.Key)
			case p.Const != nil && *p.Const != string(h.Value):
				t.Errorf("%s: header %s is %q, the document says %q", r.message, h.Key, h.Value, *p.Const)
			case p.Pattern != "" && !regexp.MustCompile(p.Pattern).Match(h.Value):
				t.Errorf("%s: header %s = %q does not match %s", r.message, h.Key, h.Value, p.Pattern)
			}
		}
		slices.Sort(names)
		required := slices.Sorted(slices.Values(msg.Headers.Required))
		if !slices.Equal(names, required) || len(msg.Headers.Properties) != len(names) {
			t.Errorf("%s: the encoder writes headers %v, the document requires %v of %d", r.message, names, required, len(msg.Headers.Properties))
		}
		if !regexp.MustCompile(msg.Bindings.Kafka.Key.Pattern).Match(r.m.Key) {
			t.Errorf("%s: key %s does not match the document's %s", r.message, r.m.Key, msg.Bindings.Kafka.Key.Pattern)
		}
		payload, err := compiler.Compile("mem://asyncapi.json#/components/messages/" + r.message + "/payload")
		if err != nil {
			t.Fatalf("%s payload: %v", r.message, err)
		}
		value, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.m.Value))
		if err != nil {
			t.Fatal(err)
		}
		if err := payload.Validate(value); err != nil {
			t.Errorf("%s: the value breaks the document's payload: %v", r.message, err)
		}
	}

	for name, want := range map[string]struct {
		address, policy string
		messages        []string
	}{
		"events":      {testTopics.Events, "delete", []string{"dnisGone", "dnisWindow", "windowClosed"}},
		"deadLetters": {testTopics.DeadLetters, "delete", []string{"deadLetter"}},
		"table":       {testTopics.Table, "compact", []string{"dnisWindow", "tableTombstone", "windowClosed"}},
		"state":       {testTopics.State, "compact", []string{"stateRecord"}},
	} {
		ch := doc.Channels[name]
		var messages []string
		for m, ref := range ch.Messages {
			messages = append(messages, m)
			if ref["$ref"] != "#/components/messages/"+m {
				t.Errorf("channel %s: message %s refers to %s", name, m, ref["$ref"])
			}
		}
		slices.Sort(messages)
		if ch.Address != want.address || ch.Bindings.Kafka.Topic != want.address ||
			!slices.Equal(ch.Bindings.Kafka.TopicConfiguration["cleanup.policy"], []string{want.policy}) || !slices.Equal(messages, want.messages) {
			t.Errorf("channel %s: address %q, cleanup.policy %v, messages %v; want %q, %s, %v",
				name, ch.Address, ch.Bindings.Kafka.TopicConfiguration["cleanup.policy"], messages, want.address, want.policy, want.messages)
		}
	}
	if len(doc.Channels) != 4 {
		t.Errorf("%d channels, want events, deadLetters, table and state", len(doc.Channels))
	}
	if !strings.Contains(string(raw), `"$ref": "#/components/schemas/dnis_window"`) ||
		regexp.MustCompile(`"\$ref": "[^"]*#/\$defs/`).Match(raw) {
		t.Error("payloads do not point to the JSON Schema definitions under components/schemas")
	}
}
