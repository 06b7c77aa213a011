package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
)

func TestSchemaCommandPrintsBothSchemas(t *testing.T) {
	for args, wantID := range map[string]string{"": "events", "--dead-letter": "dead_letter"} {
		var out bytes.Buffer
		var argv []string
		if args != "" {
			argv = []string{args}
		}
		if err := runSchema(context.Background(), argv, &out, io.Discard); err != nil {
			t.Fatalf("schema %s: %v", args, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("schema %s printed no JSON: %v", args, err)
		}
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("schema %s: $schema = %v", args, doc["$schema"])
		}
		if id, _ := doc["$id"].(string); !bytes.Contains([]byte(id), []byte(wantID)) {
			t.Errorf("schema %s: $id = %q, want one naming %s", args, id, wantID)
		}
	}
}
