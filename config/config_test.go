package config

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestUsageListsEveryVariableWithItsDefault(t *testing.T) {
	var out bytes.Buffer
	if err := PrintUsage(&out); err != nil {
		t.Fatal(err)
	}
	for _, name := range Variables() {
		if !strings.Contains(out.String(), name) {
			t.Errorf("usage does not list %s", name)
		}
	}
	for _, want := range []string{"INTERVAL                        5m", "KAFKA_TOPIC                     wolkvox.skill6.dnis-service-level"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDefaultsIgnoreTheEnvironment(t *testing.T) {
	t.Setenv("INTERVAL", "15m")
	t.Setenv("KAFKA_TOPIC", "elsewhere")
	c, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Schedule.Interval.String() != "5m0s" || c.Kafka.Topic != "wolkvox.skill6.dnis-service-level" ||
		c.Kafka.Brokers[0] != "127.0.0.1:9092" || c.Service.ClockSpeed != 1 || c.Wolkvox.DailyQuota != 1000 {
		t.Fatalf("Defaults() = %+v", c)
	}
	loaded, err := func() (Config, error) {
		t.Setenv("SKILL_IDS", "3")
		return Load()
	}()
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Schedule.Interval.String() != "15m0s" || loaded.Kafka.Topic != "elsewhere" {
		t.Fatalf("Load() ignored the environment: %+v", loaded.Schedule)
	}
}

func TestREADMEDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Variables() {
		if !strings.Contains(string(readme), "| `"+name+"` |") {
			t.Errorf("README.md has no configuration row for %s", name)
		}
	}
}

func TestLoadNamesTheVariableAndValueOfEachProblem(t *testing.T) {
	t.Setenv("INTERVAL", "banana")
	t.Setenv("KAFKA_TOPIC_PARTITIONS", "six")
	t.Setenv("KAFKA_TLS_ENABLED", "maybe")
	t.Setenv("CLOCK_START", "yesterday")
	_, err := Load()
	if err == nil {
		t.Fatal("Load accepted wrong values")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		`SKILL_IDS is required`,                          // the schedule section stops at its first problem
		`KAFKA_TLS_ENABLED="maybe": not a valid boolean`, // the Kafka section, likewise
		`CLOCK_START="yesterday": not a valid RFC 3339 time`,
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, w)
		}
		if !found {
			t.Errorf("no line starts with %q in:\n%s", w, err)
		}
	}
	if strings.Contains(err.Error(), "envconfig") || strings.Contains(err.Error(), "Interval") {
		t.Errorf("the error speaks of Go internals:\n%s", err)
	}
}
