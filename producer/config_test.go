package producer_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/secret"
)

// testPassword is distinctive enough to be searched for in errors and logs.
const testPassword = "pw-7f3a9c-never-shown"

func validConfig() producer.Config {
	return producer.Config{
		Brokers: []string{"127.0.0.1:9092", "kafka-2.internal:9093"}, Topic: topic, Compression: "none",
		WriteTimeout: 30 * time.Second, RequestTimeout: 10 * time.Second, BatchBytes: 1 << 20,
		TopicPartitions: 6, TopicReplication: 3,
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name     string
		change   func(*producer.Config)
		variable string
		says     string
	}{
		{"no brokers", func(c *producer.Config) { c.Brokers = nil }, "KAFKA_BROKERS", "is empty"},
		{"no port", func(c *producer.Config) { c.Brokers = []string{"kafka-1"} }, "KAFKA_BROKERS", `"kafka-1" is not host:port`},
		{"bad port", func(c *producer.Config) { c.Brokers = []string{"kafka-1:http"} }, "KAFKA_BROKERS", "no valid port"},
		{"port out of range", func(c *producer.Config) { c.Brokers = []string{"kafka-1:70000"} }, "KAFKA_BROKERS", "no valid port"},
		{"no topic", func(c *producer.Config) { c.Topic = "" }, "KAFKA_TOPIC", "is empty"},
		{"dlq is topic", func(c *producer.Config) { c.DLQTopic = topic }, "KAFKA_DLQ_TOPIC", "must differ"},
		{"topic with a space", func(c *producer.Config) { c.Topic = "dnis events" }, "KAFKA_TOPIC", "not a topic name"},
		{"topic too long", func(c *producer.Config) { c.Topic = strings.Repeat("t", 250) }, "KAFKA_TOPIC", "249"},
		{"table is topic", func(c *producer.Config) { c.TableTopic = topic }, "KAFKA_TABLE_TOPIC", "must differ"},
		{"table is dlq", func(c *producer.Config) { c.TableTopic = topic + ".dlq" }, "KAFKA_TABLE_TOPIC", "must differ"},
		{"table with a space", func(c *producer.Config) { c.TableTopic = "my table" }, "KAFKA_TABLE_TOPIC", "not a topic name"},
		{"dlq with a slash", func(c *producer.Config) { c.DLQTopic = "dead/letters" }, "KAFKA_DLQ_TOPIC", "not a topic name"},
		{"topic too long for its dlq", func(c *producer.Config) { c.Topic = strings.Repeat("t", 247) }, "KAFKA_DLQ_TOPIC", "249"},
		{"unknown compression", func(c *producer.Config) { c.Compression = "brotli" }, "KAFKA_COMPRESSION", `"brotli" is unknown`},
		{"no write timeout", func(c *producer.Config) { c.WriteTimeout = 0 }, "KAFKA_WRITE_TIMEOUT", "positive"},
		{"no request timeout", func(c *producer.Config) { c.RequestTimeout = 0 }, "KAFKA_REQUEST_TIMEOUT", "positive"},
		{"tiny batch", func(c *producer.Config) { c.BatchBytes = 100 }, "KAFKA_BATCH_BYTES", "below"},
		{"unknown mechanism", func(c *producer.Config) {
			c.SASLMechanism, c.SASLUsername, c.SASLPassword = "GSSAPI", "svc", secret.New(testPassword)
		}, "KAFKA_SASL_MECHANISM", `"GSSAPI" is unknown`},
		{"sasl without user", func(c *producer.Config) {
			c.SASLMechanism, c.SASLPassword = "PLAIN", secret.New(testPassword)
		}, "KAFKA_SASL_USERNAME", "is empty"},
		{"sasl without password", func(c *producer.Config) {
			c.SASLMechanism, c.SASLUsername = "SCRAM-SHA-512", "svc"
		}, "KAFKA_SASL_PASSWORD", "is empty"},
		{"credentials without mechanism", func(c *producer.Config) {
			c.SASLUsername, c.SASLPassword = "svc", secret.New(testPassword)
		}, "KAFKA_SASL_MECHANISM", "is empty but SASL credentials are set"},
		{"two passwords", func(c *producer.Config) {
			c.SASLMechanism, c.SASLUsername, c.SASLPassword, c.SASLPasswordFile = "PLAIN", "svc", secret.New(testPassword), garbage
		}, "KAFKA_SASL_PASSWORD", "both set"},
		{"unreadable password file", func(c *producer.Config) {
			c.SASLMechanism, c.SASLUsername, c.SASLPasswordFile = "PLAIN", "svc", missing
		}, "KAFKA_SASL_PASSWORD_FILE", "no such file"},
		{"unreadable CA", func(c *producer.Config) { c.TLSEnabled, c.TLSCAFile = true, missing }, "KAFKA_TLS_CA_FILE", "cannot be read"},
		{"CA without certificate", func(c *producer.Config) { c.TLSEnabled, c.TLSCAFile = true, garbage }, "KAFKA_TLS_CA_FILE", "holds no PEM certificate"},
		{"CA without TLS", func(c *producer.Config) { c.TLSCAFile = garbage }, "KAFKA_TLS_CA_FILE", "KAFKA_TLS_ENABLED is false"},
		{"cert without key", func(c *producer.Config) { c.TLSEnabled, c.TLSCertFile = true, garbage }, "KAFKA_TLS_CERT_FILE", "set together"},
		{"unreadable key pair", func(c *producer.Config) {
			c.TLSEnabled, c.TLSCertFile, c.TLSKeyFile = true, garbage, missing
		}, "KAFKA_TLS_CERT_FILE", "cannot be loaded"},
		{"no partitions", func(c *producer.Config) { c.CreateTopics, c.TopicPartitions = true, 0 }, "KAFKA_TOPIC_PARTITIONS", "at least 1"},
		{"no replication", func(c *producer.Config) { c.CreateTopics, c.TopicReplication = true, 0 }, "KAFKA_TOPIC_REPLICATION_FACTOR", "at least 1"},
		{"bad topic config", func(c *producer.Config) { c.TopicConfigs = []string{"retention.ms"} }, "KAFKA_TOPIC_CONFIGS", "not key=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.change(&cfg)
			_, err := producer.New(cfg)
			var ce *producer.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("New: %v, want a *ConfigError", err)
			}
			if ce.Variable != tc.variable || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q, want it to name %s and say %q", err, tc.variable, tc.says)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestNewAcceptsEveryValidChoice(t *testing.T) {
	dir := t.TempDir()
	passwordFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, change := range []func(*producer.Config){
		func(*producer.Config) {},
		func(c *producer.Config) { c.Compression = "ZSTD" },
		func(c *producer.Config) { c.Compression = "" },
		func(c *producer.Config) { c.Brokers = []string{" 10.0.0.1:9092", "[::1]:9092"} },
		func(c *producer.Config) {
			c.SASLMechanism, c.SASLUsername, c.SASLPassword = "plain", "svc", secret.New(testPassword)
		},
		func(c *producer.Config) {
			c.SASLMechanism, c.SASLUsername, c.SASLPasswordFile = "SCRAM-SHA-256", "svc", passwordFile
		},
		func(c *producer.Config) {
			c.SASLMechanism, c.SASLUsername, c.SASLPassword = "SCRAM-SHA-512", "svc", secret.New(testPassword)
		},
		func(c *producer.Config) { c.TLSEnabled = true },
		func(c *producer.Config) {
			c.CreateTopics, c.TopicConfigs = true, []string{"retention.ms=-1", " min.insync.replicas=2"}
		},
	} {
		cfg := validConfig()
		change(&cfg)
		if _, err := producer.New(cfg); err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

func TestDeadLetterTopicDefaultsToTopicDotDLQ(t *testing.T) {
	cfg := validConfig()
	p, err := producer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if events, dead := p.Topics(); events != topic || dead != topic+".dlq" {
		t.Errorf("topics %q, %q", events, dead)
	}
	cfg.DLQTopic = "errors"
	p, err = producer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, dead := p.Topics(); dead != "errors" {
		t.Errorf("dead-letter topic %q, want errors", dead)
	}
}

func TestTableTopicDefaultsToTopicDotTable(t *testing.T) {
	cfg := validConfig()
	p, err := producer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.TableTopic(); got != topic+".table" {
		t.Errorf("table topic %q, want %s.table", got, topic)
	}
	cfg.TableTopic = "dnis-table"
	if p, err = producer.New(cfg); err != nil {
		t.Fatal(err)
	}
	if got := p.TableTopic(); got != "dnis-table" {
		t.Errorf("table topic %q, want dnis-table", got)
	}
}
