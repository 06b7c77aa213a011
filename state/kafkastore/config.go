package kafkastore

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// Config says where the state topic is and how to reach it. The fields with
// an envconfig tag are this package's own variables; the others are the
// producer's Kafka settings, which the caller copies in.
type Config struct {
	// Topic is the state topic. Default: KAFKA_TOPIC + ".state", which the
	// caller fills in; empty is an error here.
	Topic string `envconfig:"KAFKA_STATE_TOPIC" desc:"compacted topic of the publisher's state (default: KAFKA_TOPIC + .state)"`
	// ChunkBytes is the largest piece of a state file in one record.
	// Default 512 KiB: two of them and their overhead stay below the 1 MB
	// that brokers accept by default.
	ChunkBytes int `envconfig:"KAFKA_STATE_CHUNK_BYTES" default:"524288" desc:"largest piece of a state in one record of the state topic"`
	// Instance tags every manifest this process writes, so that a conflict
	// says who won. Default: host name, process id and a random suffix.
	Instance string `envconfig:"INSTANCE_ID" desc:"name of this process in the state topic (default: host name, process id and a random suffix)"`

	// Brokers is KAFKA_BROKERS.
	Brokers []string `ignored:"true"`
	// TLS and SASL are the producer's (KAFKA_TLS_*, KAFKA_SASL_*); nil for
	// none.
	TLS  *tls.Config    `ignored:"true"`
	SASL sasl.Mechanism `ignored:"true"`
	// ClientID is KAFKA_CLIENT_ID. Default "skill6pub".
	ClientID string `ignored:"true"`
	// CreateTopic is KAFKA_CREATE_TOPICS: create the topic when missing.
	CreateTopic bool `ignored:"true"`
	// ReplicationFactor is KAFKA_TOPIC_REPLICATION_FACTOR, for a created
	// topic. Default 3.
	ReplicationFactor int `ignored:"true"`
	// TopicConfigs are KAFKA_TOPIC_CONFIGS, for a created topic (for
	// instance min.insync.replicas=2); cleanup.policy is always compact.
	TopicConfigs []kafka.ConfigEntry `ignored:"true"`
	// RequestTimeout is KAFKA_REQUEST_TIMEOUT: one request to a broker.
	// Default 10 s.
	RequestTimeout time.Duration `ignored:"true"`
	// SaveTimeout bounds one Save, from its first chunk to its manifest read
	// back (KAFKA_WRITE_TIMEOUT). Default 30 s.
	SaveTimeout time.Duration `ignored:"true"`
	// Logger reports what the store cleans up and the errors it retries.
	// Default: none.
	Logger *zerolog.Logger `ignored:"true"`
}

const (
	defaultChunkBytes        = 512 << 10
	defaultReplicationFactor = 3
	defaultRequestTimeout    = 10 * time.Second
	defaultSaveTimeout       = 30 * time.Second
	// minChunkBytes keeps a misread setting from cutting a state into
	// thousands of records.
	minChunkBytes = 4 << 10
	// maxChunkBytes keeps a chunk and its record overhead within the 1 MB
	// (1,048,588 bytes) that a topic accepts by default.
	maxChunkBytes = 1_000_000
)

// Validate checks c as Open would, without connecting: a *ConfigError
// naming the first setting that cannot work.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults returns c with its defaults filled in, or a *ConfigError
// naming the first setting that cannot work.
func (c Config) withDefaults() (Config, error) {
	if c.Topic == "" {
		return c, &ConfigError{Variable: "KAFKA_STATE_TOPIC", Problem: "is empty (its default is KAFKA_TOPIC + .state)"}
	}
	if len(c.Brokers) == 0 {
		return c, &ConfigError{Variable: "KAFKA_BROKERS", Problem: "is empty: give at least one host:port"}
	}
	if c.ChunkBytes == 0 {
		c.ChunkBytes = defaultChunkBytes
	}
	if c.ChunkBytes < minChunkBytes || c.ChunkBytes > maxChunkBytes {
		return c, &ConfigError{Variable: "KAFKA_STATE_CHUNK_BYTES",
			Problem: fmt.Sprintf("is %d: use %d to %d bytes", c.ChunkBytes, minChunkBytes, maxChunkBytes)}
	}
	if c.Instance == "" {
		c.Instance = defaultInstance()
	}
	if c.ClientID == "" {
		c.ClientID = "skill6pub"
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = defaultReplicationFactor
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = defaultRequestTimeout
	}
	if c.SaveTimeout <= 0 {
		c.SaveTimeout = defaultSaveTimeout
	}
	return c, nil
}

// defaultInstance names this process: readable (the host name is the pod's
// name on Kubernetes) and unique even for two processes of one host.
func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + randomHex(4)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
