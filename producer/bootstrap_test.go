package producer_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
)

// Case 13: topic bootstrap on a fresh cluster, and again when the topics
// exist.
func TestBootstrapCreatesTopics(t *testing.T) {
	t.Parallel()
	c := newBareCluster(t)
	cfg := testConfig(c)
	cfg.CreateTopics = true
	cfg.TopicPartitions = 3
	cfg.TopicConfigs = []string{"retention.ms=-1", "cleanup.policy=delete"}
	p := newProducer(t, cfg)
	ctx := context.Background()
	if err := p.Bootstrap(ctx); err != nil {
		t.Fatalf("bootstrap on a fresh cluster: %v", err)
	}
	for _, name := range []string{topic, dlqTopic, tableTopic} {
		info := c.TopicInfo(name)
		if info == nil {
			t.Fatalf("topic %s not created", name)
		}
		if n := len(c.PartitionInfos(name)); n != 3 {
			t.Errorf("%s has %d partitions, want 3", name, n)
		}
		if v := info.Configs["retention.ms"]; v == nil || *v != "-1" {
			t.Errorf("%s retention.ms = %v, want -1", name, v)
		}
		policy := "delete" // KAFKA_TOPIC_CONFIGS, but for the table
		if name == tableTopic {
			policy = "compact"
		}
		if v := info.Configs["cleanup.policy"]; v == nil || *v != policy {
			t.Errorf("%s cleanup.policy = %v, want %s", name, v, policy)
		}
	}
	if err := p.Bootstrap(ctx); err != nil {
		t.Errorf("bootstrap again: %v", err)
	}
	if err := newProducer(t, cfg).Bootstrap(ctx); err != nil {
		t.Errorf("bootstrap by a second process: %v", err)
	}
	if err := p.Ready(ctx); err != nil {
		t.Errorf("ready after bootstrap: %v", err)
	}

	events := window(0, 40)
	publish(t, p, events)
	for _, r := range readBack(t, c, topic) {
		if want := javaPartition(r.Key, 3); r.Partition != want {
			t.Errorf("key %q in partition %d of 3, want %d", r.Key, r.Partition, want)
		}
	}
}

func TestBootstrapWithoutCreateNamesTheMissingTopic(t *testing.T) {
	t.Parallel()
	c := newBareCluster(t, kfake.SeedTopics(partitions, topic))
	p := newProducer(t, testConfig(c))
	err := p.Bootstrap(context.Background())
	if !errors.Is(err, producer.ErrTopicMissing) {
		t.Fatalf("bootstrap with the dead-letter topic missing: %v, want ErrTopicMissing", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, `"`+dlqTopic+`"`) || strings.Contains(msg, `"`+topic+`" does not exist`) ||
		!strings.Contains(msg, "KAFKA_CREATE_TOPICS=true") {
		t.Errorf("error %q should name only %s and suggest KAFKA_CREATE_TOPICS=true", msg, dlqTopic)
	}
	if err := p.Ready(context.Background()); !errors.Is(err, producer.ErrTopicMissing) {
		t.Errorf("ready with a topic missing: %v", err)
	}
	err = p.Publish(context.Background(), schema.EventSlice(window(0, 3)), []schema.DeadLetter{{Operation: "0032", SkillID: "7", Reason: "bad row"}})
	if !errors.Is(err, producer.ErrTopicMissing) {
		t.Errorf("publish with the dead-letter topic missing: %v", err)
	}
}

func TestBootstrapReportsEachTopicThatCannotBeCreated(t *testing.T) {
	t.Parallel()
	c := newBareCluster(t)
	cfg := testConfig(c)
	cfg.CreateTopics = true
	cfg.TopicReplication = 3 // one broker
	err := newProducer(t, cfg).Bootstrap(context.Background())
	if err == nil {
		t.Fatal("bootstrap with replication factor 3 on one broker succeeded")
	}
	for _, want := range []string{`create topic "` + topic + `"`, `create topic "` + dlqTopic + `"`, "replication factor 3", "Replication Factor", "KAFKA_TOPIC_REPLICATION_FACTOR=3 is more than the cluster's brokers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestReadyWhenBrokersGo(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	p := newProducer(t, testConfig(c))
	ctx := context.Background()
	if err := p.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	c.Close()
	err := p.Ready(ctx)
	if !errors.Is(err, producer.ErrUnreachable) || !strings.Contains(err.Error(), "KAFKA_BROKERS=") {
		t.Errorf("ready with the broker down: %v, want ErrUnreachable naming KAFKA_BROKERS", err)
	}
}

// Issue 15: with KAFKA_CREATE_TOPICS=true and the broker down, or a SASL
// mechanism against a listener without SASL, kafka-go says only "[8] Broker
// Not Available"; the error must name the brokers and the settings to check.
func TestBootstrapWithNoBrokerAnsweringNamesTheBrokers(t *testing.T) {
	t.Parallel()
	down := newBareCluster(t)
	cfg := testConfig(down)
	cfg.CreateTopics = true
	down.Close()
	err := newProducer(t, cfg).Bootstrap(context.Background())
	if !errors.Is(err, producer.ErrUnreachable) || !strings.Contains(err.Error(), "KAFKA_BROKERS="+cfg.Brokers[0]) ||
		!strings.Contains(err.Error(), "plaintext (KAFKA_TLS_ENABLED=false) without SASL") {
		t.Errorf("broker down: %v", err)
	}

	plain := newBareCluster(t)
	cfg = testConfig(plain)
	cfg.CreateTopics = true
	cfg.SASLMechanism, cfg.SASLUsername, cfg.SASLPassword = "PLAIN", "u", secret.New("p")
	err = newProducer(t, cfg).Bootstrap(context.Background())
	if err == nil || !strings.Contains(err.Error(), "KAFKA_BROKERS="+cfg.Brokers[0]) || !strings.Contains(err.Error(), "with SASL PLAIN (KAFKA_SASL_MECHANISM)") {
		t.Errorf("SASL against a listener without it: %v", err)
	}
	if strings.Contains(err.Error(), `"p"`) {
		t.Errorf("the password shows: %v", err)
	}
}

// Issue 15: a broker that restarted empty lost the topics. With
// KAFKA_CREATE_TOPICS=true they are created again when found missing, and
// the next publish goes through.
func TestMissingTopicsAreCreatedAgain(t *testing.T) {
	t.Parallel()
	c := newBareCluster(t)
	cfg := testConfig(c)
	cfg.CreateTopics = true
	cfg.WriteTimeout = 20 * time.Second
	p := newProducer(t, cfg)
	ctx := context.Background()
	if err := p.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	publish(t, p, window(0, 3))
	admin, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := kadm.NewClient(admin).DeleteTopics(ctx, topic, dlqTopic); err != nil {
		t.Fatal(err)
	}
	for c.TopicInfo(topic) != nil {
		runtime.Gosched()
	}
	err = p.Publish(ctx, schema.EventSlice(window(1, 3)), nil)
	if !errors.Is(err, producer.ErrTopicMissing) || !strings.Contains(err.Error(), "created it again (KAFKA_CREATE_TOPICS=true)") {
		t.Fatalf("publish with the topics gone: %v, want them created again", err)
	}
	if c.TopicInfo(topic) == nil || c.TopicInfo(dlqTopic) == nil {
		t.Fatal("the topics were not created again")
	}
	publish(t, p, window(1, 3))
	if n := len(readBack(t, c, topic)); n != 4 {
		t.Errorf("%d records on the topic created again, want the 4 of the window published after", n)
	}
}
