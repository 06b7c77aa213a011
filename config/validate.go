package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/leader"
	"github.com/skill6pub/skill6pub/producer"
)

// Floors of the timeouts: below them a setting is a typo (1ns for 1s), and
// the service would start and then never publish anything.
const (
	minWolkvoxTimeout = time.Second // one HTTP exchange with wolkvox
	minWriteTimeout   = time.Second // one window's publish: several broker round trips
	minRequestTimeout = 100 * time.Millisecond
	minShutdown       = time.Second // finishing the window in flight and flushing
)

// Validate checks the whole configuration without connecting to anything
// and reports every problem at once, one line each, naming the variable
// and what to set instead. It is the one place where settings are checked:
// each package's own checks (fetch.New, producer.New, the scheduler's
// Validate), which their constructors also apply, then what only the
// whole configuration can tell (floors of timeouts, settings that exclude
// each other, the service's own settings).
func (c Config) Validate() error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	if _, err := fetch.New(c.Wolkvox); err != nil {
		problems = append(problems, err)
	}
	if _, err := producer.New(c.Kafka); err != nil {
		problems = append(problems, err)
	}
	if err := c.Schedule.Validate(); err != nil {
		problems = append(problems, err)
	}

	if !c.Wolkvox.Token.IsZero() && c.Wolkvox.TokenFile != "" {
		add("WOLKVOX_TOKEN and WOLKVOX_TOKEN_FILE are both set: set only one (the file, from a mounted secret, is safer)")
	}
	floor := func(name string, d, least time.Duration) {
		if d > 0 && d < least {
			add("%s=%s is below %s: a duration this short fails every time (a typo for %s?)", name, d, least, least)
		}
	}
	floor("WOLKVOX_TIMEOUT", c.Wolkvox.Timeout, minWolkvoxTimeout)
	floor("KAFKA_WRITE_TIMEOUT", c.Kafka.WriteTimeout, minWriteTimeout)
	floor("KAFKA_REQUEST_TIMEOUT", c.Kafka.RequestTimeout, minRequestTimeout)
	floor("SHUTDOWN_TIMEOUT", c.Service.ShutdownTimeout, minShutdown)
	if c.Service.ShutdownTimeout <= 0 {
		add("SHUTDOWN_TIMEOUT=%s: must be positive (like 30s)", c.Service.ShutdownTimeout)
	}

	problems = append(problems, c.validateState()...)

	s := c.Service
	if s.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(s.HTTPAddr); err != nil {
			add("HTTP_ADDR=%q: want host:port like :8080 or 127.0.0.1:8080 (empty disables the ops server)", s.HTTPAddr)
		}
	}
	if !(s.ClockSpeed > 0) || math.IsInf(s.ClockSpeed, 0) {
		add("CLOCK_SPEED=%g: want a finite number above 0 (1 is real time)", s.ClockSpeed)
	}
	if level, err := zerolog.ParseLevel(s.LogLevel); err != nil || s.LogLevel == "" || level > zerolog.ErrorLevel {
		add("LOG_LEVEL=%q: want debug, info, warn or error", s.LogLevel)
	}
	if s.LogFormat != "json" && s.LogFormat != "console" {
		add("LOG_FORMAT=%q: want json or console", s.LogFormat)
	}
	return errors.Join(problems...)
}

// validateState checks the state store's settings and the election's.
func (c Config) validateState() []error {
	switch c.Service.StateStore {
	case StateStoreDir:
		if c.Service.StateDir == "" {
			return []error{fmt.Errorf("STATE_DIR is empty but STATE_STORE=dir: give the directory of the state files (or use STATE_STORE=kafka)")}
		}
		return nil
	case StateStoreKafka:
	default:
		return []error{fmt.Errorf("STATE_STORE=%q: want kafka (the state topic, the default) or dir (STATE_DIR: one process, no failover)", c.Service.StateStore)}
	}
	var problems []error
	store := c.State
	store.Topic, store.Brokers = c.StateTopic(), c.Kafka.Brokers
	if err := store.Validate(); err != nil {
		problems = append(problems, err)
	}
	if topics, err := producer.TopicNames(c.Kafka); err == nil {
		for name, topic := range map[string]string{"KAFKA_TOPIC": topics.Events, "KAFKA_DLQ_TOPIC": topics.DeadLetters, "KAFKA_TABLE_TOPIC": topics.Table} {
			if topic == store.Topic {
				problems = append(problems, fmt.Errorf("KAFKA_STATE_TOPIC=%q is also %s: the state topic must be a topic of its own", store.Topic, name))
			}
		}
	}
	elect := c.Leader
	elect.Brokers, elect.Topic, elect.Group = c.Kafka.Brokers, store.Topic, c.LeaderGroup()
	if _, err := leader.New(elect); err != nil {
		problems = append(problems, err)
	}
	return problems
}

// normalize trims the blanks people put after commas in lists
// (SKILL_IDS=3, 7).
func (c *Config) normalize() {
	for i, id := range c.Schedule.SkillIDs {
		c.Schedule.SkillIDs[i] = strings.TrimSpace(id)
	}
}
