package main

import (
	"context"
	"io"

	"github.com/skill6pub/skill6pub/schema"
)

// runSchema is `skill6pub schema`: the JSON Schema of the events, for
// consumers' registries and validators.
func runSchema(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("schema", "schema [--dead-letter]   (prints the JSON Schema, draft 2020-12, of every event)", stderr)
	deadLetter := fs.Bool("dead-letter", false, "print the schema of the dead-letter topic's records instead")
	if helped, err := parseFlags(fs, args); helped || err != nil {
		return err
	}
	doc := schema.JSONSchemaDocument()
	if *deadLetter {
		doc = schema.DeadLetterJSONSchemaDocument()
	}
	_, err := stdout.Write(doc)
	return err
}
