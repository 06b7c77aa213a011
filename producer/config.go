// Package producer publishes one window's events to Kafka with kafka-go,
// returning only when every record is acknowledged by all in-sync replicas.
package producer

import (
	"time"

	"github.com/skill6pub/skill6pub/secret"
)

// Config is the Kafka side of the service's configuration, read from the
// environment. Each field's default is in its tag.
type Config struct {
	Brokers      []string      `envconfig:"KAFKA_BROKERS" default:"127.0.0.1:9092" desc:"comma-separated host:port list of bootstrap brokers"`
	Topic        string        `envconfig:"KAFKA_TOPIC" default:"wolkvox.skill6.dnis-service-level" desc:"topic of the events"`
	DLQTopic     string        `envconfig:"KAFKA_DLQ_TOPIC" desc:"dead-letter topic for rows and events that cannot be published (default: KAFKA_TOPIC + .dlq)"`
	ClientID     string        `envconfig:"KAFKA_CLIENT_ID" default:"skill6pub" desc:"Kafka client id"`
	Compression  string        `envconfig:"KAFKA_COMPRESSION" default:"none" desc:"none, gzip, snappy, lz4 or zstd"`
	WriteTimeout time.Duration `envconfig:"KAFKA_WRITE_TIMEOUT" default:"30s" desc:"deadline of one window's publish before it is retried"`
	BatchBytes   int64         `envconfig:"KAFKA_BATCH_BYTES" default:"1048576" desc:"largest request to a broker; a bigger event goes to the dead-letter topic"`

	TLSEnabled            bool   `envconfig:"KAFKA_TLS_ENABLED" default:"false" desc:"connect with TLS"`
	TLSCAFile             string `envconfig:"KAFKA_TLS_CA_FILE" desc:"PEM file of the CA that signed the brokers' certificates (default: system roots)"`
	TLSCertFile           string `envconfig:"KAFKA_TLS_CERT_FILE" desc:"PEM client certificate for mutual TLS"`
	TLSKeyFile            string `envconfig:"KAFKA_TLS_KEY_FILE" desc:"PEM client key for mutual TLS"`
	TLSServerName         string `envconfig:"KAFKA_TLS_SERVER_NAME" desc:"server name to verify (default: the broker host)"`
	TLSInsecureSkipVerify bool   `envconfig:"KAFKA_TLS_INSECURE_SKIP_VERIFY" default:"false" desc:"skip certificate verification (testing only)"`

	SASLMechanism    string        `envconfig:"KAFKA_SASL_MECHANISM" desc:"PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)"`
	SASLUsername     string        `envconfig:"KAFKA_SASL_USERNAME" desc:"SASL user name"`
	SASLPassword     secret.String `envconfig:"KAFKA_SASL_PASSWORD" desc:"SASL password (or use KAFKA_SASL_PASSWORD_FILE)"`
	SASLPasswordFile string        `envconfig:"KAFKA_SASL_PASSWORD_FILE" desc:"file holding the SASL password"`

	CreateTopics     bool     `envconfig:"KAFKA_CREATE_TOPICS" default:"false" desc:"create the topics at start when missing (otherwise they must exist)"`
	TopicPartitions  int      `envconfig:"KAFKA_TOPIC_PARTITIONS" default:"6" desc:"partitions of created topics"`
	TopicReplication int      `envconfig:"KAFKA_TOPIC_REPLICATION_FACTOR" default:"3" desc:"replication factor of created topics"`
	TopicConfigs     []string `envconfig:"KAFKA_TOPIC_CONFIGS" desc:"comma-separated key=value configs of created topics (e.g. retention.ms=-1,min.insync.replicas=2)"`
}
