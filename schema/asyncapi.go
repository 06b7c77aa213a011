package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Topics names the Kafka topics an AsyncAPI document describes.
type Topics struct {
	Events      string // KAFKA_TOPIC
	DeadLetters string // KAFKA_DLQ_TOPIC
	Table       string // KAFKA_TABLE_TOPIC
	State       string // the service's own compacted record
}

// kafkaBindingVersion is the version of the AsyncAPI Kafka bindings used.
const kafkaBindingVersion = "0.5.0"

// AsyncAPIDocument returns the AsyncAPI 3.0 document of every topic of
// topics: its keys, headers and message payloads, the payloads being the
// definitions of the JSON Schema documents this build embeds
// (JSONSchemaDocument, DeadLetterJSONSchemaDocument), copied under
// components/schemas with their references rewritten to point there: an
// AsyncAPI parser need not fetch the documents' $id, which is not served.
// `skill6pub asyncapi` prints it.
func AsyncAPIDocument(topics Topics) ([]byte, error) {
	schemas := map[string]any{}
	if err := addSchemaDefs(schemas, JSONSchemaDocument(), "", ""); err != nil {
		return nil, err
	}
	if err := addSchemaDefs(schemas, DeadLetterJSONSchemaDocument(), TypeDeadLetter+"_", TypeDeadLetter); err != nil {
		return nil, err
	}
	dnisKey := stringSchema("{operation}:{skill_id}:{dnis}: the wolkvox server id, the skill and the DNIS (its HMAC when dnis_hashed)", `^[^:]*:[^:]*:.+$`)
	skillKey := stringSchema("{operation}:{skill_id}: the wolkvox server id and the skill", `^[^:]*:[^:]*$`)
	messages := map[string]any{
		"dnisWindow": eventMessage(TypeDNISWindow, "One DNIS row of a window: its metrics, the previous window's and the change.",
			dnisKey, "the DNIS"),
		"dnisGone": eventMessage(TypeDNISGone, "A DNIS of the previous window that is absent from this one.",
			dnisKey, "the DNIS"),
		"windowClosed": eventMessage(TypeWindowClosed, "After the DNIS events of a window (or of one revision of it): counts and call-weighted totals; the window is complete once the counted events have arrived.",
			skillKey, "the window's start, RFC 3339"),
		"deadLetter": deadLetterMessage(skillKey),
		"tableTombstone": map[string]any{
			"name":        "tombstone",
			"title":       "Tombstone",
			"summary":     "The DNIS went (a dnis_gone), or this window had no event for it that could be published: delete the key.",
			"contentType": ContentType,
			"payload":     map[string]any{"type": "null"},
			"bindings":    kafkaKey(dnisKey),
		},
		"stateRecord": map[string]any{
			"name":  "state_record",
			"title": "State record (internal)",
			"summary": "The service's own record: the last published window and snapshot per operation and skill, the write-ahead record of the window in flight, published spans and backfill progress. " +
				"Internal and opaque: its format changes without notice and without a schema_version; do not consume it.",
			"payload":  map[string]any{"description": "Opaque, internal to skill6pub."},
			"bindings": kafkaKey(map[string]any{"type": "string", "description": "Internal."}),
		},
	}
	eventTime := " Every record's Kafka timestamp (CreateTime) is its window's end (window_end), whenever it was published."
	keyed := " Keyed {operation}:{skill_id}:{dnis} ({operation}:{skill_id} for window_closed) and partitioned with murmur2 like the Java client (librdkafka: partitioner=murmur2_random)."
	channels := map[string]any{
		"events": channel(topics.Events, "delete",
			"The events: for each window of each skill, a dnis_window per DNIS row, a dnis_gone per DNIS gone since the previous window, then a window_closed. "+
				"A revision of a window repeats it with revision increased: for each key and window_start the highest revision wins. Deduplicate by event_id (ce_id)."+keyed+eventTime,
			"dnisWindow", "dnisGone", "windowClosed"),
		"deadLetters": channel(topics.DeadLetters, "delete",
			"Rows of a wolkvox response that could not become an event, and events too large or impossible to encode, with the reason (also in the reason header). Keyed {operation}:{skill_id}."+eventTime,
			"deadLetter"),
		"table": channel(topics.Table, "compact",
			"The events as a table (compacted): for each skill's latest window, the dnis_window of each DNIS, a tombstone (null value) when a DNIS goes, and the window_closed under {operation}:{skill_id}. "+
				"A revision of an older window never reaches it. Folded as a KTable (last value per key, null deletes) it is each skill's latest window."+keyed+eventTime,
			"dnisWindow", "tableTombstone", "windowClosed"),
		"state": channel(topics.State, "compact",
			"The service's internal record (like Kafka Connect's offsets topic). Not for consumers.",
			"stateRecord"),
	}
	operations := map[string]any{}
	for _, name := range []string{"events", "deadLetters", "table", "state"} {
		ch := channels[name].(map[string]any)
		var refs []any
		for _, m := range sortedKeys(ch["messages"].(map[string]any)) {
			refs = append(refs, ref("#/channels/"+name+"/messages/"+m))
		}
		operations["publish"+strings.ToUpper(name[:1])+name[1:]] = map[string]any{
			"action":   "send",
			"channel":  ref("#/channels/" + name),
			"summary":  "skill6pub writes " + ch["address"].(string) + " synchronously, with acks from all in-sync replicas.",
			"messages": refs,
		}
	}
	doc := map[string]any{
		"asyncapi": "3.0.0",
		"id":       "urn:com:github:skill6pub:skill6pub",
		"info": map[string]any{
			"title":   "skill6pub",
			"version": strconv.Itoa(Version) + ".0.0",
			"description": "wolkvox's report \"Calls and service level by DNIS\" (Reports Manager API skill_6), window by window, as per-DNIS events on Kafka. " +
				"The payloads are the JSON Schema (draft 2020-12) documents " + EventsSchemaID() + " and " + DeadLetterSchemaID() +
				" (`skill6pub schema`), whose definitions are copied under components/schemas; each record's ce_dataschema header names its definition.",
		},
		"defaultContentType": ContentType,
		"channels":           channels,
		"operations":         operations,
		"components": map[string]any{
			"messages": messages,
			"schemas":  schemas,
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// addSchemaDefs copies the $defs of the JSON Schema doc into schemas, each
// under prefix+its name, and the document itself, when top is set, under
// top: references "#/$defs/x" become "#/components/schemas/<prefix>x".
func addSchemaDefs(schemas map[string]any, doc []byte, prefix, top string) error {
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		return fmt.Errorf("embedded JSON Schema: %w", err)
	}
	defs, _ := d["$defs"].(map[string]any)
	for name, def := range defs {
		schemas[prefix+name] = rewriteRefs(def, prefix)
	}
	if top != "" {
		delete(d, "$defs")
		delete(d, "$schema")
		delete(d, "$id")
		schemas[top] = rewriteRefs(d, prefix)
	}
	return nil
}

func rewriteRefs(v any, prefix string) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				out[k] = strings.Replace(s, "#/$defs/", "#/components/schemas/"+prefix, 1)
				continue
			}
			out[k] = rewriteRefs(x, prefix)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = rewriteRefs(x, prefix)
		}
		return out
	}
	return v
}

func eventMessage(eventType, summary string, key map[string]any, subject string) map[string]any {
	return map[string]any{
		"name":        eventType,
		"title":       eventType,
		"summary":     summary,
		"contentType": ContentType,
		"headers":     cloudEventHeaders(eventType, subject, false),
		"payload":     ref("#/components/schemas/" + eventType),
		"bindings":    kafkaKey(key),
	}
}

func deadLetterMessage(key map[string]any) map[string]any {
	return map[string]any{
		"name":        TypeDeadLetter,
		"title":       TypeDeadLetter,
		"summary":     "A row or an event that could not be published as an event, with the reason; the rest of its window was published.",
		"contentType": ContentType,
		"headers":     cloudEventHeaders(TypeDeadLetter, "the window's start, RFC 3339", true),
		"payload":     ref("#/components/schemas/" + TypeDeadLetter),
		"bindings":    kafkaKey(key),
	}
}

// cloudEventHeaders is the schema of the CloudEvents binary-mode headers of
// a record type (see the package documentation), plus reason for a dead
// letter.
func cloudEventHeaders(recordType, subject string, reason bool) map[string]any {
	props := map[string]any{
		"ce_specversion": constString("1.0", "CloudEvents version."),
		"ce_id":          stringSchema("event_id (dead_letter_id for a dead letter).", "^[0-9a-f]{32}$"),
		"ce_type":        constString(CloudEventType(recordType), "Record type and schema version."),
		"ce_source":      stringSchema("The report of one skill of one operation: /wolkvox/{operation}/skill_6/{skill_id}, path-escaped.", "^/wolkvox/[^/]*/skill_6/[^/]*$"),
		"ce_subject":     map[string]any{"type": "string", "description": "What the record is about: " + subject + "."},
		"ce_time":        map[string]any{"type": "string", "format": "date-time", "description": "window_end, RFC 3339 with the operation's offset."},
		"ce_dataschema":  constString(DataSchema(recordType), "The JSON Schema of the value."),
		"content-type":   constString(ContentType, "The value's media type."),
	}
	required := []any{"ce_specversion", "ce_id", "ce_type", "ce_source", "ce_subject", "ce_time", "ce_dataschema", "content-type"}
	if reason {
		props["reason"] = map[string]any{"type": "string", "description": "Why the record is a dead letter (the value's reason, cut to 1,024 bytes)."}
		required = append(required, "reason")
	}
	return map[string]any{"type": "object", "properties": props, "required": required}
}

func channel(address, cleanupPolicy, description string, messages ...string) map[string]any {
	ms := map[string]any{}
	for _, m := range messages {
		ms[m] = ref("#/components/messages/" + m)
	}
	return map[string]any{
		"address":     address,
		"description": description,
		"messages":    ms,
		"bindings": map[string]any{"kafka": map[string]any{
			"topic":              address,
			"topicConfiguration": map[string]any{"cleanup.policy": []any{cleanupPolicy}},
			"bindingVersion":     kafkaBindingVersion,
		}},
	}
}

func kafkaKey(key map[string]any) map[string]any {
	return map[string]any{"kafka": map[string]any{"key": key, "bindingVersion": kafkaBindingVersion}}
}

func stringSchema(description, pattern string) map[string]any {
	return map[string]any{"type": "string", "description": description, "pattern": pattern}
}

func constString(value, description string) map[string]any {
	return map[string]any{"type": "string", "const": value, "description": description}
}

func ref(to string) map[string]any { return map[string]any{"$ref": to} }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
