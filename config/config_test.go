package config

import (
	"bytes"
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
