package producer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/secret"
)

// The state store and the election connect with the producer's settings;
// printing them, however, never shows the SASL password.
func TestConnectionSharesTheSettingsButNotThePassword(t *testing.T) {
	const password = "the-sasl-password-of-the-test"
	p, err := producer.New(producer.Config{
		Brokers: []string{"127.0.0.1:9092"}, Topic: "t", ClientID: "skill6pub-test", Compression: "none",
		WriteTimeout: 30e9, RequestTimeout: 10e9, BatchBytes: 1 << 20,
		SASLMechanism: "SCRAM-SHA-512", SASLUsername: "u", SASLPassword: secret.New(password),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Connection()
	if c.SASL == nil || c.SASL.Name() != "SCRAM-SHA-512" || c.ClientID != "skill6pub-test" || c.Brokers[0] != "127.0.0.1:9092" {
		t.Fatalf("Connection() = %v", c)
	}
	if d := c.Dialer(); d.SASLMechanism == nil || d.ClientID != "skill6pub-test" {
		t.Fatalf("Dialer() = %+v", d)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(format, c); strings.Contains(out, password) || !strings.Contains(out, "SCRAM-SHA-512") {
			t.Errorf("%s of the connection: %s", format, out)
		}
	}
}
