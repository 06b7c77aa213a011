// Package producer publishes one window's events to Kafka with kafka-go,
// returning only when every record is acknowledged by all in-sync replicas.
package producer

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/skill6pub/skill6pub/secret"
)

// Config is the Kafka side of the service's configuration, read from the
// environment. Each field's default is in its tag.
type Config struct {
	Brokers      []string      `envconfig:"KAFKA_BROKERS" default:"127.0.0.1:9092" desc:"comma-separated host:port list of bootstrap brokers"`
	Topic        string        `envconfig:"KAFKA_TOPIC" default:"wolkvox.skill6.dnis-service-level" desc:"topic of the events"`
	DLQTopic     string        `envconfig:"KAFKA_DLQ_TOPIC" desc:"dead-letter topic for rows and events that cannot be published (default: KAFKA_TOPIC + .dlq)"`
	TableTopic   string        `envconfig:"KAFKA_TABLE_TOPIC" desc:"compacted table topic: the latest dnis_window of each DNIS and window_closed of each skill, a tombstone when a DNIS goes (default: KAFKA_TOPIC + .table)"`
	ClientID     string        `envconfig:"KAFKA_CLIENT_ID" default:"skill6pub" desc:"Kafka client id"`
	Compression  string        `envconfig:"KAFKA_COMPRESSION" default:"none" desc:"none, gzip, snappy, lz4 or zstd"`
	WriteTimeout time.Duration `envconfig:"KAFKA_WRITE_TIMEOUT" default:"30s" desc:"deadline of one window's publish before it is retried"`
	// RequestTimeout bounds one produce or admin request to one broker
	// (kafka-go's Writer.WriteTimeout and ReadTimeout). A request past it is
	// retried by kafka-go, within WriteTimeout.
	RequestTimeout time.Duration `envconfig:"KAFKA_REQUEST_TIMEOUT" default:"10s" desc:"deadline of one request to a broker before kafka-go retries it (within KAFKA_WRITE_TIMEOUT)"`
	BatchBytes     int64         `envconfig:"KAFKA_BATCH_BYTES" default:"1048576" desc:"largest request to a broker; a bigger event goes to the dead-letter topic"`

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

// settings is a Config checked and turned into what kafka-go takes.
type settings struct {
	brokers      []string
	dlqTopic     string
	tableTopic   string
	compression  kafka.Compression
	tls          *tls.Config
	sasl         sasl.Mechanism
	topicConfigs []kafka.ConfigEntry
}

// compression maps KAFKA_COMPRESSION to kafka-go's codec.
func compression(name string) (kafka.Compression, bool) {
	switch strings.ToLower(name) {
	case "", "none":
		return 0, true
	case "gzip":
		return kafka.Gzip, true
	case "snappy":
		return kafka.Snappy, true
	case "lz4":
		return kafka.Lz4, true
	case "zstd":
		return kafka.Zstd, true
	}
	return 0, false
}

// topicNameProblem says why Kafka would refuse name as a topic ("" when it
// would not): Kafka allows 1 to 249 ASCII letters, digits, '.', '_' and '-',
// and neither "." nor "..". Checked here so that the start fails with the
// variable's name rather than at the first request.
func topicNameProblem(name string) string {
	if name == "." || name == ".." {
		return "is not a topic name"
	}
	if len(name) > 249 {
		return "is longer than the 249 characters Kafka allows"
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "is not a topic name: Kafka allows only letters, digits, '.', '_' and '-'"
		}
	}
	return ""
}

// check validates c and resolves its files, returning the first problem as a
// *ConfigError that names the variable.
func (c Config) check() (settings, error) {
	var s settings
	if len(c.Brokers) == 0 {
		return s, configErr("KAFKA_BROKERS", "is empty: give at least one host:port")
	}
	for _, b := range c.Brokers {
		b = strings.TrimSpace(b)
		host, port, err := net.SplitHostPort(b)
		if err != nil || host == "" {
			return s, configErr("KAFKA_BROKERS", fmt.Sprintf("%q is not host:port", b))
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return s, configErr("KAFKA_BROKERS", fmt.Sprintf("%q has no valid port", b))
		}
		s.brokers = append(s.brokers, b)
	}
	if c.Topic == "" {
		return s, configErr("KAFKA_TOPIC", "is empty")
	}
	if problem := topicNameProblem(c.Topic); problem != "" {
		return s, configErr("KAFKA_TOPIC", fmt.Sprintf("%q %s", c.Topic, problem))
	}
	s.dlqTopic = c.DLQTopic
	if s.dlqTopic == "" {
		s.dlqTopic = c.Topic + ".dlq"
	}
	if problem := topicNameProblem(s.dlqTopic); problem != "" {
		return s, configErr("KAFKA_DLQ_TOPIC", fmt.Sprintf("%q %s", s.dlqTopic, problem))
	}
	if s.dlqTopic == c.Topic {
		return s, configErr("KAFKA_DLQ_TOPIC", "must differ from KAFKA_TOPIC")
	}
	s.tableTopic = c.TableTopic
	if s.tableTopic == "" {
		s.tableTopic = c.Topic + ".table"
	}
	if problem := topicNameProblem(s.tableTopic); problem != "" {
		return s, configErr("KAFKA_TABLE_TOPIC", fmt.Sprintf("%q %s", s.tableTopic, problem))
	}
	if s.tableTopic == c.Topic || s.tableTopic == s.dlqTopic {
		return s, configErr("KAFKA_TABLE_TOPIC", "must differ from KAFKA_TOPIC and KAFKA_DLQ_TOPIC")
	}
	codec, ok := compression(c.Compression)
	if !ok {
		return s, configErr("KAFKA_COMPRESSION", fmt.Sprintf("%q is unknown: use none, gzip, snappy, lz4 or zstd", c.Compression))
	}
	s.compression = codec
	if c.WriteTimeout <= 0 {
		return s, configErr("KAFKA_WRITE_TIMEOUT", "must be positive")
	}
	if c.RequestTimeout <= 0 {
		return s, configErr("KAFKA_REQUEST_TIMEOUT", "must be positive")
	}
	if c.BatchBytes < minBatchBytes {
		return s, configErr("KAFKA_BATCH_BYTES", fmt.Sprintf("%d is below %d bytes", c.BatchBytes, minBatchBytes))
	}
	var err error
	if s.tls, err = c.tlsConfig(); err != nil {
		return s, err
	}
	if s.sasl, err = c.saslMechanism(); err != nil {
		return s, err
	}
	if c.CreateTopics {
		if c.TopicPartitions < 1 {
			return s, configErr("KAFKA_TOPIC_PARTITIONS", "must be at least 1")
		}
		if c.TopicReplication < 1 {
			return s, configErr("KAFKA_TOPIC_REPLICATION_FACTOR", "must be at least 1")
		}
	}
	for _, kv := range c.TopicConfigs {
		name, value, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || name == "" {
			return s, configErr("KAFKA_TOPIC_CONFIGS", fmt.Sprintf("%q is not key=value", kv))
		}
		s.topicConfigs = append(s.topicConfigs, kafka.ConfigEntry{ConfigName: name, ConfigValue: value})
	}
	return s, nil
}

// minBatchBytes keeps KAFKA_BATCH_BYTES above the size of a dead letter that
// only names an oversized event, so that such a dead letter always fits.
const minBatchBytes = 4096

func (c Config) tlsConfig() (*tls.Config, error) {
	if !c.TLSEnabled {
		for _, f := range [][2]string{{"KAFKA_TLS_CA_FILE", c.TLSCAFile}, {"KAFKA_TLS_CERT_FILE", c.TLSCertFile}, {"KAFKA_TLS_KEY_FILE", c.TLSKeyFile}} {
			if f[1] != "" {
				return nil, configErr(f[0], "is set but KAFKA_TLS_ENABLED is false")
			}
		}
		return nil, nil
	}
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.TLSServerName,
		InsecureSkipVerify: c.TLSInsecureSkipVerify, // an operator's explicit choice, documented as testing only
	}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, configErr("KAFKA_TLS_CA_FILE", fmt.Sprintf("cannot be read: %v", err))
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, configErr("KAFKA_TLS_CA_FILE", fmt.Sprintf("%s holds no PEM certificate", c.TLSCAFile))
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return nil, configErr("KAFKA_TLS_CERT_FILE", "and KAFKA_TLS_KEY_FILE must be set together")
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, configErr("KAFKA_TLS_CERT_FILE", fmt.Sprintf("with KAFKA_TLS_KEY_FILE cannot be loaded: %v", err))
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

func (c Config) saslMechanism() (sasl.Mechanism, error) {
	mechanism := strings.ToUpper(c.SASLMechanism)
	if mechanism == "" {
		if c.SASLUsername != "" || !c.SASLPassword.IsZero() || c.SASLPasswordFile != "" {
			return nil, configErr("KAFKA_SASL_MECHANISM", "is empty but SASL credentials are set: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
		}
		return nil, nil
	}
	if c.SASLUsername == "" {
		return nil, configErr("KAFKA_SASL_USERNAME", "is empty but KAFKA_SASL_MECHANISM is "+mechanism)
	}
	password := c.SASLPassword
	switch {
	case !password.IsZero() && c.SASLPasswordFile != "":
		return nil, configErr("KAFKA_SASL_PASSWORD", "and KAFKA_SASL_PASSWORD_FILE are both set: use one")
	case c.SASLPasswordFile != "":
		var err error
		if password, err = secret.FromFile(c.SASLPasswordFile); err != nil {
			return nil, configErr("KAFKA_SASL_PASSWORD_FILE", err.Error())
		}
	}
	if password.IsZero() {
		return nil, configErr("KAFKA_SASL_PASSWORD", "is empty but KAFKA_SASL_MECHANISM is "+mechanism+": set it or KAFKA_SASL_PASSWORD_FILE")
	}
	switch mechanism {
	case "PLAIN":
		return plain.Mechanism{Username: c.SASLUsername, Password: password.Reveal()}, nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		algo := scram.SHA256
		if mechanism == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, c.SASLUsername, password.Reveal())
		if err != nil {
			// scram's errors come from SASLprep of the user name and the
			// password; name neither in the message.
			return nil, configErr("KAFKA_SASL_USERNAME", "or the password is not valid for SCRAM (SASLprep rejected it)")
		}
		return m, nil
	default:
		return nil, configErr("KAFKA_SASL_MECHANISM", fmt.Sprintf("%q is unknown: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASLMechanism))
	}
}
