package main

import (
	"context"
	"io"

	"github.com/skill6pub/skill6pub/schema"
)

// runSchema is `skill6pub schema`: the JSON Schema of the events, for
// consumers' registries and validators.
func runSchema(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("schema", "schema   (prints the JSON Schema, draft 2020-12, of every event)", stderr)
	if helped, err := parseFlags(fs, args); helped || err != nil {
		return err
	}
	_, err := stdout.Write(schema.JSONSchemaDocument())
	return err
}
