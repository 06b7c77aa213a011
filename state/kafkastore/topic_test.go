package kafkastore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skill6pub/skill6pub/state/kafkastore"
)

// TestCreatedTopicIsCompactedWithOnePartition checks with franz-go what
// Open created, and that a second Open leaves the topic as it is.
func TestCreatedTopicIsCompactedWithOnePartition(t *testing.T) {
	c := newCluster(t)
	open(t, testConfig(c, "a"))
	open(t, testConfig(c, "b"))
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(details[topic].Partitions); n != 1 {
		t.Errorf("created with %d partitions, want 1", n)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := configs.On(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range rc.Configs {
		if cfg.Key == "cleanup.policy" && cfg.MaybeValue() != "compact" {
			t.Errorf("cleanup.policy = %q, want compact", cfg.MaybeValue())
		}
	}
}

// TestUnusableTopicIsRefused: without KAFKA_CREATE_TOPICS, Open checks the
// topic and says what is wrong with it and what to do.
func TestUnusableTopicIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cluster []kfake.Opt
		policy  string // set on the seeded topic; "" leaves kfake's default
		want    []string
	}{
		{"missing", nil, "", []string{"does not exist", "KAFKA_CREATE_TOPICS=true", "cleanup.policy=compact"}},
		{"not compacted", []kfake.Opt{kfake.SeedTopics(1, topic)}, "", []string{"cleanup.policy=delete", "not compact", "kafka-configs.sh"}},
		{"compacted and deleted", []kfake.Opt{kfake.SeedTopics(1, topic)}, "compact,delete", []string{"cleanup.policy=compact,delete", "kafka-configs.sh"}},
		{"three partitions", []kfake.Opt{kfake.SeedTopics(3, topic)}, "", []string{"has 3 partitions", "exactly one"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, tc.cluster...)
			if tc.policy != "" {
				setPolicy(t, c, tc.policy)
			}
			cfg := testConfig(c, "a")
			cfg.CreateTopic = false
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := kafkastore.Open(ctx, cfg)
			var topicErr *kafkastore.TopicError
			if !errors.As(err, &topicErr) {
				t.Fatalf("Open: %v, want a *TopicError", err)
			}
			for _, w := range append(tc.want, topic) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	c := newCluster(t)
	for _, tc := range []struct {
		change func(*kafkastore.Config)
		want   string
	}{
		{func(cfg *kafkastore.Config) { cfg.Topic = "" }, "KAFKA_STATE_TOPIC"},
		{func(cfg *kafkastore.Config) { cfg.Brokers = nil }, "KAFKA_BROKERS"},
		{func(cfg *kafkastore.Config) { cfg.ChunkBytes = 2 << 20 }, "KAFKA_STATE_CHUNK_BYTES"},
	} {
		cfg := testConfig(c, "a")
		tc.change(&cfg)
		_, err := kafkastore.Open(context.Background(), cfg)
		var configErr *kafkastore.ConfigError
		if !errors.As(err, &configErr) || configErr.Variable != tc.want {
			t.Errorf("Open: %v, want a *ConfigError naming %s", err, tc.want)
		}
	}
}

// setPolicy sets the state topic's cleanup.policy, as an operator would.
func setPolicy(t *testing.T, c *kfake.Cluster, policy string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).AlterTopicConfigs(context.Background(),
		[]kadm.AlterConfig{{Name: "cleanup.policy", Value: &policy}}, topic)
	if err == nil {
		_, err = resp.On(topic, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
}
