// Package config reads skill6pub's configuration from the environment and
// prints its documentation. The variable names are fixed by DESIGN.md.
package config

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/leader"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/state/kafkastore"
)

// Config is the whole configuration, read from the environment (no prefix).
// Tests build Config values directly.
type Config struct {
	Wolkvox  fetch.Config
	Schedule scheduler.Config
	Kafka    producer.Config
	// State is the state topic's own settings (KAFKA_STATE_*, INSTANCE_ID);
	// its connection is the producer's (producer.Connection).
	State kafkastore.Config
	// Leader is the election of the active replica (LEADER_*); its group
	// and topic are derived (pipeline), its connection is the producer's.
	Leader  leader.Config
	Service ServiceConfig
}

// The state stores STATE_STORE names.
const (
	// StateStoreKafka keeps the state in the compacted state topic: every
	// replica and every command shares it (the default).
	StateStoreKafka = "kafka"
	// StateStoreDir keeps it in STATE_DIR: one process, no failover.
	StateStoreDir = "dir"
)

// ServiceConfig is the part of the configuration that belongs to no single
// package.
type ServiceConfig struct {
	StateStore      string        `envconfig:"STATE_STORE" default:"kafka" desc:"where the publisher's state is kept: kafka (the compacted state topic, shared by every replica and command) or dir (STATE_DIR: one process, no failover)"`
	StateDir        string        `envconfig:"STATE_DIR" default:"./state" desc:"with STATE_STORE=dir, directory of the state files; with kafka, a directory left by an older version is taken over into the state topic once at start"`
	DNISHMACKey     secret.String `envconfig:"DNIS_HMAC_KEY" desc:"when set, every DNIS is replaced by HMAC-SHA256(key, DNIS) before it leaves the service"`
	HTTPAddr        string        `envconfig:"HTTP_ADDR" default:":8080" desc:"address of the ops server (/healthz, /readyz, /metrics); empty disables it"`
	LogLevel        string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat       string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or console"`
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s" desc:"on SIGINT/SIGTERM, time to finish the window in flight and flush"`
	// ClockSpeed and ClockStart exist for demos and end-to-end tests: they
	// run the service on an accelerated clock so that hours of windows pass
	// in seconds. Production leaves them alone.
	ClockSpeed float64   `envconfig:"CLOCK_SPEED" default:"1" desc:"run the clock this many times faster than real time (demos and tests only)"`
	ClockStart time.Time `envconfig:"CLOCK_START" desc:"RFC 3339 time at which an accelerated clock starts (default: now; demos and tests only)"`
	// Failpoint exists for crash tests: the process kills itself with
	// SIGKILL at a named point of its work. Production leaves it empty.
	Failpoint string `envconfig:"SKILL6PUB_FAILPOINT" desc:"tests only: kill the process with SIGKILL at fetch, after-publish or state-write; NAME:N for the Nth time, NAME:N:stop to freeze it with SIGSTOP instead"`
}

const usageFormat = `{{range .}}  {{usage_key .}}	{{usage_default .}}	{{usage_description .}}
{{end}}`

// parts lists the sections of c in the order --help prints them. envconfig
// gives nested struct fields a prefix, so each section is read on its own to
// keep the variable names DESIGN.md fixes.
func (c *Config) parts() []any {
	return []any{&c.Wolkvox, &c.Schedule, &c.Kafka, &c.State, &c.Leader, &c.Service}
}

// StateTopic returns the state topic: KAFKA_STATE_TOPIC, by default
// KAFKA_TOPIC + ".state".
func (c Config) StateTopic() string {
	if c.State.Topic != "" {
		return c.State.Topic
	}
	return c.Kafka.Topic + ".state"
}

// Operation names the stream in events, state keys and the group of
// replicas: WOLKVOX_SERVER, or "custom" when WOLKVOX_BASE_URL stands in
// for it.
func (c Config) Operation() string {
	if c.Wolkvox.Server == "" {
		return "custom"
	}
	return c.Wolkvox.Server
}

// LeaderGroup is the consumer group in which the replicas of the operation
// elect the active one.
func (c Config) LeaderGroup() string { return "skill6pub-" + c.Operation() }

// Load reads the configuration from the environment. Each section is read
// on its own, so one wrong value per section is reported, one line each.
// Blanks around the entries of SKILL_IDS are trimmed. Validate checks the
// values.
func Load() (Config, error) {
	var c Config
	var problems []error
	for _, p := range c.parts() {
		if err := envconfig.Process("", p); err != nil {
			problems = append(problems, explain(err))
		}
	}
	c.normalize()
	return c, errors.Join(problems...)
}

// explain turns envconfig's errors, which name Go fields and types, into a
// line that names the variable and the value.
func explain(err error) error {
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		cause := pe.Err
		var ne *strconv.NumError
		if errors.As(cause, &ne) {
			cause = ne.Err
		}
		if strings.HasSuffix(pe.TypeName, "Time") {
			return fmt.Errorf("%s=%q: not a valid %s", pe.KeyName, pe.Value, kindOf(pe.TypeName))
		}
		return fmt.Errorf("%s=%q: not a valid %s: %v", pe.KeyName, pe.Value, kindOf(pe.TypeName), cause)
	}
	if key, ok := strings.CutPrefix(err.Error(), "required key "); ok {
		return fmt.Errorf("%s is required (see skill6pub --help)", strings.TrimSuffix(key, " missing value"))
	}
	return err
}

// kindOf names a Go type the way the help text does.
func kindOf(goType string) string {
	switch goType {
	case "time.Duration", "Duration":
		return "duration (like 30s, 5m, 24h)"
	case "bool":
		return "boolean (true or false)"
	case "int", "int64":
		return "whole number"
	case "float64":
		return "number"
	case "time.Time", "Time":
		return "RFC 3339 time (like 2026-11-23T10:00:00-05:00)"
	}
	return goType
}

// PrintUsage writes every variable with its default and meaning.
func PrintUsage(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	var c Config
	for _, p := range c.parts() {
		if err := envconfig.Usagef("", p, tw, usageFormat); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// Variables returns the names of every environment variable skill6pub reads.
func Variables() []string {
	var names []string
	var c Config
	for _, p := range c.parts() {
		t := reflect.TypeOf(p).Elem()
		for i := range t.NumField() {
			if name := t.Field(i).Tag.Get("envconfig"); name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

// Defaults returns the configuration with every variable at its default,
// whatever the environment holds: the demo runs on it.
func Defaults() (Config, error) {
	var c Config
	for _, p := range c.parts() {
		v := reflect.ValueOf(p).Elem()
		t := v.Type()
		for i := range t.NumField() {
			def, ok := t.Field(i).Tag.Lookup("default")
			if !ok {
				continue
			}
			if err := setDefault(v.Field(i), def); err != nil {
				return Config{}, fmt.Errorf("default of %s: %w", t.Field(i).Tag.Get("envconfig"), err)
			}
		}
	}
	return c, nil
}

// setDefault parses a default tag into a field of one of the kinds the
// configuration uses.
func setDefault(f reflect.Value, def string) error {
	if f.Type() == reflect.TypeFor[time.Duration]() {
		d, err := time.ParseDuration(def)
		f.SetInt(int64(d))
		return err
	}
	var err error
	switch f.Kind() {
	case reflect.String:
		f.SetString(def)
	case reflect.Bool:
		var b bool
		b, err = strconv.ParseBool(def)
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		var n int64
		n, err = strconv.ParseInt(def, 10, 64)
		f.SetInt(n)
	case reflect.Float64:
		var x float64
		x, err = strconv.ParseFloat(def, 64)
		f.SetFloat(x)
	case reflect.Slice:
		f.Set(reflect.ValueOf(strings.Split(def, ",")))
	default:
		err = fmt.Errorf("no default parser for %s", f.Type())
	}
	return err
}
