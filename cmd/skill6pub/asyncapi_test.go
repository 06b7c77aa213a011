package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/producer"
)

func TestAsyncAPICommandPrintsTheDocument(t *testing.T) {
	var out bytes.Buffer
	if err := runAsyncAPI(context.Background(), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AsyncAPI string         `json:"asyncapi"`
		Channels map[string]any `json:"channels"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("asyncapi printed no JSON: %v", err)
	}
	if doc.AsyncAPI != "3.0.0" || len(doc.Channels) != 4 {
		t.Errorf("asyncapi %q with %d channels, want 3.0.0 with 4", doc.AsyncAPI, len(doc.Channels))
	}
}

// The document names the topics as the configuration resolves them.
func TestAsyncAPIDocumentUsesTheConfiguredTopics(t *testing.T) {
	cfg := config.Config{Kafka: producer.Config{Brokers: []string{"127.0.0.1:9092"}, Topic: "calls", TableTopic: "calls-now", Compression: "none",
		WriteTimeout: 1, RequestTimeout: 1, BatchBytes: 1 << 20}}
	raw, err := asyncAPIDocument(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Channels map[string]struct {
			Address string `json:"address"`
		} `json:"channels"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"events": "calls", "deadLetters": "calls.dlq", "table": "calls-now", "state": "calls.state"} {
		if got := doc.Channels[name].Address; got != want {
			t.Errorf("channel %s: address %q, want %q", name, got, want)
		}
	}
	cfg.State.Topic = "calls-record"
	if raw, err = asyncAPIDocument(cfg); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Channels["state"].Address; got != "calls-record" {
		t.Errorf("channel state with KAFKA_STATE_TOPIC: address %q, want calls-record", got)
	}
}
