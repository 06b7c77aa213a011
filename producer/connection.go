package producer

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// Connection is how the producer reaches the brokers, shared with the
// service's other Kafka clients (the state store, the election of the
// active replica) so that they connect as the producer does: the same
// brokers, client id, TLS and SASL, and the settings of created topics.
//
// SASL holds the credentials, which are secrets: String (and so %v and
// %+v) names the mechanism only, and GoString likewise, so that printing a
// Connection leaks nothing. Pass SASL only to kafka-go.
type Connection struct {
	Brokers  []string
	ClientID string
	TLS      *tls.Config    // nil: no TLS
	SASL     sasl.Mechanism // nil: no SASL
	// RequestTimeout is KAFKA_REQUEST_TIMEOUT, WriteTimeout
	// KAFKA_WRITE_TIMEOUT.
	RequestTimeout time.Duration
	WriteTimeout   time.Duration
	// CreateTopics, ReplicationFactor and TopicConfigs are
	// KAFKA_CREATE_TOPICS, KAFKA_TOPIC_REPLICATION_FACTOR and
	// KAFKA_TOPIC_CONFIGS.
	CreateTopics      bool
	ReplicationFactor int
	TopicConfigs      []kafka.ConfigEntry
}

// Connection returns how the producer reaches the brokers.
func (p *Producer) Connection() Connection {
	return Connection{
		Brokers:           p.settings.brokers,
		ClientID:          p.cfg.ClientID,
		TLS:               p.settings.tls,
		SASL:              p.settings.sasl,
		RequestTimeout:    p.cfg.RequestTimeout,
		WriteTimeout:      p.cfg.WriteTimeout,
		CreateTopics:      p.cfg.CreateTopics,
		ReplicationFactor: p.cfg.TopicReplication,
		TopicConfigs:      p.settings.topicConfigs,
	}
}

// Dialer returns a kafka-go dialer that connects as the producer does, for
// the clients that take one (consumer groups).
func (c Connection) Dialer() *kafka.Dialer {
	return &kafka.Dialer{
		ClientID:      c.ClientID,
		Timeout:       c.RequestTimeout,
		DualStack:     true,
		TLS:           c.TLS,
		SASLMechanism: c.SASL,
	}
}

// String describes the connection without its credentials.
func (c Connection) String() string {
	mechanism := "none"
	if c.SASL != nil {
		mechanism = c.SASL.Name()
	}
	return fmt.Sprintf("brokers %s, client id %q, TLS %t, SASL %s", strings.Join(c.Brokers, ","), c.ClientID, c.TLS != nil, mechanism)
}

// GoString is String: %#v would print the SASL password otherwise.
func (c Connection) GoString() string { return c.String() }
