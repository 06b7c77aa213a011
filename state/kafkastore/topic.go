package kafkastore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/segmentio/kafka-go"
)

// prepareTopic creates the state topic when cfg.CreateTopic is set (an
// existing topic is left as it is), then checks that it exists, has one
// partition and is compacted.
func prepareTopic(ctx context.Context, client *kafka.Client, cfg Config) error {
	if cfg.CreateTopic {
		if err := createTopic(ctx, client, cfg); err != nil {
			return err
		}
	}
	return checkTopic(ctx, client, cfg.Topic)
}

func createTopic(ctx context.Context, client *kafka.Client, cfg Config) error {
	configs := slices.DeleteFunc(slices.Clone(cfg.TopicConfigs), func(e kafka.ConfigEntry) bool {
		return e.ConfigName == "cleanup.policy"
	})
	configs = append(configs, kafka.ConfigEntry{ConfigName: "cleanup.policy", ConfigValue: "compact"})
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: cfg.Topic, NumPartitions: 1, ReplicationFactor: cfg.ReplicationFactor, ConfigEntries: configs,
	}}})
	if err == nil {
		// The call's error is nil even when the topic failed: its outcome is
		// in resp.Errors (RELIABILITY.md).
		err = resp.Errors[cfg.Topic]
	}
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return &TopicError{Topic: cfg.Topic, Problem: fmt.Sprintf("could not be created (1 partition, replication factor %d, cleanup.policy=compact)", cfg.ReplicationFactor),
			Fix: "Check KAFKA_TOPIC_REPLICATION_FACTOR against the number of brokers and that this client may create topics, or create the topic yourself", Err: err}
	}
	return nil
}

// createHint is how an operator creates the topic by hand.
func createHint(topic string) string {
	return fmt.Sprintf("kafka-topics.sh --create --topic %s --partitions 1 --config cleanup.policy=compact", topic)
}

func checkTopic(ctx context.Context, client *kafka.Client, topic string) error {
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return &TopicError{Topic: topic, Problem: "could not be looked up", Fix: "Check KAFKA_BROKERS and that the brokers are up", Err: err}
	}
	if len(meta.Topics) != 1 || errors.Is(meta.Topics[0].Error, kafka.UnknownTopicOrPartition) {
		return &TopicError{Topic: topic, Problem: "does not exist",
			Fix: "Set KAFKA_CREATE_TOPICS=true to create it at start, or create it: " + createHint(topic)}
	}
	if err := meta.Topics[0].Error; err != nil {
		return &TopicError{Topic: topic, Problem: "cannot be used", Fix: "Check that this client may describe, read and write it", Err: err}
	}
	if n := len(meta.Topics[0].Partitions); n != 1 {
		return &TopicError{Topic: topic, Problem: fmt.Sprintf("has %d partitions, and the state topic needs exactly one (one order for every record)", n),
			Fix: "Delete it and let KAFKA_CREATE_TOPICS=true create it, or create it: " + createHint(topic) + "; or set KAFKA_STATE_TOPIC to another topic"}
	}
	resp, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"cleanup.policy"},
	}}})
	if err == nil && len(resp.Resources) == 1 {
		err = resp.Resources[0].Error
	}
	if err != nil {
		return &TopicError{Topic: topic, Problem: "has a configuration that could not be read", Fix: "Check that this client may describe the topic's configuration", Err: err}
	}
	policy := ""
	for _, e := range resp.Resources[0].ConfigEntries {
		if e.ConfigName == "cleanup.policy" {
			policy = e.ConfigValue
		}
	}
	// "compact,delete" compacts and also deletes what is older than
	// retention.ms: the state of a stream idle that long would go.
	if policy != "compact" {
		return &TopicError{Topic: topic, Problem: fmt.Sprintf("has cleanup.policy=%s, not compact: its records would expire, and the state with them", policy),
			Fix: fmt.Sprintf("Set it: kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact", topic)}
	}
	return nil
}
