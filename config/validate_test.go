package config

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/secret"
)

func validConfig(t *testing.T) Config {
	t.Helper()
	c, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	c.Wolkvox.Server = "0032"
	c.Wolkvox.Token = secret.New("a-token-of-the-test")
	c.Schedule.SkillIDs = []string{"3", "7"}
	return c
}

// The cases of issue 15 that passed the start check and failed later, or
// never: each is refused at start, one line naming the variable.
func TestValidateRefusesAtStartWhatFailedLater(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("from-the-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		change func(*Config)
		says   string
	}{
		{"skill id with letters", func(c *Config) { c.Schedule.SkillIDs = []string{"abc"} }, `SKILL_IDS: "abc" is not a skill id: want the skill's number (like 12) or all`},
		{"base URL without the path", func(c *Config) { c.Wolkvox.BaseURL = "http://127.0.0.1:8089" },
			`WOLKVOX_BASE_URL="http://127.0.0.1:8089" has no path: want the API's whole URL, like http://127.0.0.1:8089/api/v2/reports_manager.php`},
		{"clock speed NaN", func(c *Config) { c.Service.ClockSpeed = math.NaN() }, "CLOCK_SPEED=NaN: want a finite number above 0"},
		{"clock speed +Inf", func(c *Config) { c.Service.ClockSpeed = math.Inf(1) }, "CLOCK_SPEED=+Inf: want a finite number above 0"},
		{"clock speed 0", func(c *Config) { c.Service.ClockSpeed = 0 }, "CLOCK_SPEED=0: want a finite number above 0"},
		{"write timeout 1ns", func(c *Config) { c.Kafka.WriteTimeout = time.Nanosecond }, "KAFKA_WRITE_TIMEOUT=1ns is below 1s"},
		{"request timeout 1ms", func(c *Config) { c.Kafka.RequestTimeout = time.Millisecond }, "KAFKA_REQUEST_TIMEOUT=1ms is below 100ms"},
		{"wolkvox timeout 5ms", func(c *Config) { c.Wolkvox.Timeout = 5 * time.Millisecond }, "WOLKVOX_TIMEOUT=5ms is below 1s"},
		{"shutdown timeout 1µs", func(c *Config) { c.Service.ShutdownTimeout = time.Microsecond }, "SHUTDOWN_TIMEOUT=1µs is below 1s"},
		{"token and token file", func(c *Config) { c.Wolkvox.TokenFile = tokenFile }, "WOLKVOX_TOKEN and WOLKVOX_TOKEN_FILE are both set: set only one"},
		{"SASL password and file", func(c *Config) {
			c.Kafka.SASLMechanism, c.Kafka.SASLUsername = "PLAIN", "u"
			c.Kafka.SASLPassword, c.Kafka.SASLPasswordFile = secret.New("p"), tokenFile
		}, "KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are both set: use one"},
		{"HTTP address", func(c *Config) { c.Service.HTTPAddr = "8080" }, `HTTP_ADDR="8080": want host:port`},
		{"log level", func(c *Config) { c.Service.LogLevel = "verbose" }, `LOG_LEVEL="verbose": want debug, info, warn or error`},
		{"state store", func(c *Config) { c.Service.StateStore = "disk" }, `STATE_STORE="disk": want kafka`},
		{"directory store without a directory", func(c *Config) { c.Service.StateStore, c.Service.StateDir = "dir", "" }, "STATE_DIR is empty but STATE_STORE=dir"},
		{"state chunk too small", func(c *Config) { c.State.ChunkBytes = 100 }, "KAFKA_STATE_CHUNK_BYTES is 100: use 4096 to 1000000 bytes"},
		{"state topic is the events topic", func(c *Config) { c.State.Topic = c.Kafka.Topic }, "KAFKA_STATE_TOPIC=\"wolkvox.skill6.dnis-service-level\" is also KAFKA_TOPIC"},
		{"heartbeat too slow for the session", func(c *Config) { c.Leader.HeartbeatInterval = 5 * time.Second },
			"LEADER_HEARTBEAT_INTERVAL (5s) must be at most a third of LEADER_SESSION_TIMEOUT (10s)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Validate() = %v, want it to say %q", err, tt.says)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("%d lines for one problem: %v", n, err)
			}
		})
	}
	if err := validConfig(t).Validate(); err != nil {
		t.Fatalf("a valid configuration: %v", err)
	}
}

func TestValidateReportsEveryProblemOneLineEach(t *testing.T) {
	c := validConfig(t)
	c.Schedule.SkillIDs = []string{"abc"}
	c.Service.ClockSpeed = math.NaN()
	c.Kafka.WriteTimeout = time.Nanosecond
	c.Wolkvox.TimeZone = "Mars/Olympus"
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 4 {
		t.Errorf("%d lines, want 4:\n%v", len(lines), err)
	}
	for _, want := range []string{"SKILL_IDS", "CLOCK_SPEED", "KAFKA_WRITE_TIMEOUT", "WOLKVOX_TIMEZONE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no line names %s:\n%v", want, err)
		}
	}
}

// The state topic defaults to the events topic's name with .state; the
// group of replicas is named after the operation.
func TestStateTopicAndGroupDefaults(t *testing.T) {
	c := validConfig(t)
	if got := c.StateTopic(); got != "wolkvox.skill6.dnis-service-level.state" {
		t.Errorf("StateTopic() = %q", got)
	}
	if c.Service.StateStore != StateStoreKafka || c.State.ChunkBytes != 524288 || c.Leader.SessionTimeout != 10*time.Second {
		t.Errorf("defaults: STATE_STORE=%q KAFKA_STATE_CHUNK_BYTES=%d LEADER_SESSION_TIMEOUT=%s", c.Service.StateStore, c.State.ChunkBytes, c.Leader.SessionTimeout)
	}
	c.State.Topic = "elsewhere.state"
	if got := c.StateTopic(); got != "elsewhere.state" {
		t.Errorf("StateTopic() with KAFKA_STATE_TOPIC = %q", got)
	}
	if got := c.LeaderGroup(); got != "skill6pub-0032" {
		t.Errorf("LeaderGroup() = %q", got)
	}
}

func TestLoadTrimsBlanksInSkillIDs(t *testing.T) {
	t.Setenv("SKILL_IDS", "3, 7 ,12")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Schedule.SkillIDs, "|") != "3|7|12" {
		t.Errorf("SKILL_IDS = %q, want 3, 7 and 12", c.Schedule.SkillIDs)
	}
}
