package main

import (
	"context"
	"io"

	"github.com/kelseyhightower/envconfig"

	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
)

// runAsyncAPI is `skill6pub asyncapi`: the AsyncAPI 3.0 document of every
// topic, with the topic names this environment configures (KAFKA_TOPIC,
// KAFKA_DLQ_TOPIC, KAFKA_TABLE_TOPIC, KAFKA_STATE_TOPIC).
func runAsyncAPI(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("asyncapi", "asyncapi   (prints the AsyncAPI 3.0 document of every topic, as KAFKA_TOPIC and the other topic variables name them)", stderr)
	if helped, err := parseFlags(fs, args); helped || err != nil {
		return err
	}
	// Only the Kafka settings: the document needs no token or skill.
	var cfg config.Config
	if err := envconfig.Process("", &cfg.Kafka); err != nil {
		return err
	}
	if err := envconfig.Process("", &cfg.State); err != nil {
		return err
	}
	doc, err := asyncAPIDocument(cfg)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(doc, '\n'))
	return err
}

// asyncAPIDocument is the document for the topics of cfg.
func asyncAPIDocument(cfg config.Config) ([]byte, error) {
	topics, err := producer.TopicNames(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	// The state topic: the service's record (KAFKA_STATE_TOPIC).
	topics.State = cfg.StateTopic()
	return schema.AsyncAPIDocument(topics)
}
