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
