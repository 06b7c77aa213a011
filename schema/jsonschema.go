package schema

import _ "embed" // the JSON Schema documents are embedded

// The JSON Schema (draft 2020-12) documents of schema_version 1. They live
// beside the code as files so that they can be read, diffed and handed to a
// schema registry as they are.
var (
	//go:embed events.v1.schema.json
	eventsSchemaV1 string
	//go:embed dead_letter.v1.schema.json
	deadLetterSchemaV1 string
)

// JSONSchemaDocument returns the JSON Schema of the events topic: one
// document with a oneOf over dnis_window, dnis_gone and window_closed,
// selected by their event_type. `skill6pub schema` prints it.
func JSONSchemaDocument() []byte { return []byte(eventsSchemaV1) }

// DeadLetterJSONSchemaDocument returns the JSON Schema of the records of the
// dead-letter topic.
func DeadLetterJSONSchemaDocument() []byte { return []byte(deadLetterSchemaV1) }
