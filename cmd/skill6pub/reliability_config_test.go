package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

// badValues gives, for every environment variable, a wrong value and a part
// of the error it must give; a variable that takes any value says so with
// anyValue and why. TestEveryVariableWithAWrongValue fails when a variable
// is added without an entry here.
func badValues(dir string) map[string][]badValue {
	missing := filepath.Join(dir, "missing")
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(processToken), 0o600); err != nil {
		panic(err)
	}
	noBaseURL := []string{"WOLKVOX_BASE_URL="}
	return map[string][]badValue{
		"WOLKVOX_SERVER": {{value: "32", want: "WOLKVOX_SERVER", env: noBaseURL}, {value: "00a2", want: "WOLKVOX_SERVER", env: noBaseURL}},
		"WOLKVOX_BASE_URL": {{value: "not a url", want: "WOLKVOX_BASE_URL"}, {value: "ftp://example.com/x", want: "WOLKVOX_BASE_URL"},
			{value: "http://127.0.0.1:8089", want: "WOLKVOX_BASE_URL=\"http://127.0.0.1:8089\" has no path"}},
		"WOLKVOX_TOKEN": {{value: "tok\nen", want: "token holds a control character"}},
		"WOLKVOX_TOKEN_FILE": {{value: missing, want: "WOLKVOX_TOKEN_FILE", env: []string{"WOLKVOX_TOKEN="}},
			{value: tokenFile, want: "WOLKVOX_TOKEN and WOLKVOX_TOKEN_FILE are both set"}},
		"WOLKVOX_TIMEZONE":               {{value: "Mars/Olympus", want: "WOLKVOX_TIMEZONE"}},
		"WOLKVOX_DAILY_QUOTA":            {{value: "-5", want: "WOLKVOX_DAILY_QUOTA"}, {value: "lots", want: "WOLKVOX_DAILY_QUOTA"}},
		"WOLKVOX_TIMEOUT":                {{value: "0s", want: "WOLKVOX_TIMEOUT"}, {value: "soon", want: "WOLKVOX_TIMEOUT"}, {value: "5ms", want: "WOLKVOX_TIMEOUT=5ms is below 1s"}},
		"WOLKVOX_MAX_ATTEMPTS":           {{value: "0", want: "WOLKVOX_MAX_ATTEMPTS"}},
		"WOLKVOX_MAX_BODY_BYTES":         {{value: "0", want: "WOLKVOX_MAX_BODY_BYTES"}, {value: "64MB", want: "WOLKVOX_MAX_BODY_BYTES"}},
		"SKILL_IDS":                      {{value: "3,,7", want: "SKILL_IDS"}, {value: ",", want: "SKILL_IDS"}, {value: "3 7", want: "SKILL_IDS"}, {value: "abc", want: `SKILL_IDS: "abc" is not a skill id`}},
		"INTERVAL":                       {{value: "7m", want: "INTERVAL"}, {value: "five", want: "INTERVAL"}},
		"SETTLE_DELAY":                   {{value: "-1m", want: "SETTLE_DELAY"}},
		"MAX_CATCHUP":                    {{value: "-1h", want: "MAX_CATCHUP"}},
		"REVISE_WINDOWS":                 {{value: "-1", want: "REVISE_WINDOWS"}},
		"ALLOW_OVER_QUOTA":               {{value: "maybe", want: "ALLOW_OVER_QUOTA"}},
		"KAFKA_BROKERS":                  {{value: "nohost", want: "KAFKA_BROKERS"}, {value: "127.0.0.1:0", want: "KAFKA_BROKERS"}},
		"KAFKA_TOPIC":                    {{value: "", want: "KAFKA_TOPIC"}, {value: "no spaces please", want: "KAFKA_TOPIC"}, {value: strings.Repeat("t", 250), want: "KAFKA_TOPIC"}},
		"KAFKA_DLQ_TOPIC":                {{value: processTopic, want: "KAFKA_DLQ_TOPIC"}, {value: "dead/letters", want: "KAFKA_DLQ_TOPIC"}},
		"KAFKA_TABLE_TOPIC":              {{value: processTopic, want: "KAFKA_TABLE_TOPIC"}, {value: "my table", want: "KAFKA_TABLE_TOPIC"}},
		"KAFKA_CLIENT_ID":                {{value: "anyValue", want: "any text names the client in broker logs"}},
		"KAFKA_COMPRESSION":              {{value: "brotli", want: "KAFKA_COMPRESSION"}},
		"KAFKA_WRITE_TIMEOUT":            {{value: "0s", want: "KAFKA_WRITE_TIMEOUT"}, {value: "1ns", want: "KAFKA_WRITE_TIMEOUT=1ns is below 1s"}},
		"KAFKA_REQUEST_TIMEOUT":          {{value: "-1s", want: "KAFKA_REQUEST_TIMEOUT"}},
		"KAFKA_BATCH_BYTES":              {{value: "0", want: "KAFKA_BATCH_BYTES"}},
		"KAFKA_TLS_ENABLED":              {{value: "maybe", want: "KAFKA_TLS_ENABLED"}},
		"KAFKA_TLS_CA_FILE":              {{value: missing, want: "KAFKA_TLS_CA_FILE", env: []string{"KAFKA_TLS_ENABLED=true"}}},
		"KAFKA_TLS_CERT_FILE":            {{value: missing, want: "KAFKA_TLS_CERT_FILE", env: []string{"KAFKA_TLS_ENABLED=true", "KAFKA_TLS_KEY_FILE=" + missing}}},
		"KAFKA_TLS_KEY_FILE":             {{value: missing, want: "KAFKA_TLS_KEY_FILE", env: []string{"KAFKA_TLS_ENABLED=true"}}},
		"KAFKA_TLS_SERVER_NAME":          {{value: "anyValue", want: "any host name may be the one the certificate names"}},
		"KAFKA_TLS_INSECURE_SKIP_VERIFY": {{value: "maybe", want: "KAFKA_TLS_INSECURE_SKIP_VERIFY"}},
		"KAFKA_SASL_MECHANISM":           {{value: "GSSAPI", want: "KAFKA_SASL_MECHANISM"}, {value: "PLAIN", want: "KAFKA_SASL_USERNAME"}},
		"KAFKA_SASL_USERNAME":            {{value: "anyValue", want: "any name may be a user's"}},
		"KAFKA_SASL_PASSWORD":            {{value: "anyValue", want: "any text may be a password"}},
		"KAFKA_SASL_PASSWORD_FILE":       {{value: missing, want: "KAFKA_SASL_PASSWORD_FILE", env: []string{"KAFKA_SASL_MECHANISM=PLAIN", "KAFKA_SASL_USERNAME=u"}}},
		"KAFKA_CREATE_TOPICS":            {{value: "maybe", want: "KAFKA_CREATE_TOPICS"}},
		"KAFKA_TOPIC_PARTITIONS":         {{value: "0", want: "KAFKA_TOPIC_PARTITIONS"}},
		"KAFKA_TOPIC_REPLICATION_FACTOR": {{value: "0", want: "KAFKA_TOPIC_REPLICATION_FACTOR"}},
		"KAFKA_TOPIC_CONFIGS":            {{value: "retention.ms", want: "KAFKA_TOPIC_CONFIGS"}},
		"KAFKA_STATE_TOPIC":              {{value: processTopic, want: "KAFKA_STATE_TOPIC"}},
		"KAFKA_STATE_CHUNK_BYTES":        {{value: "100", want: "KAFKA_STATE_CHUNK_BYTES"}, {value: "lots", want: "KAFKA_STATE_CHUNK_BYTES"}},
		"INSTANCE_ID":                    {{value: "anyValue", want: "any name may be a process's"}},
		"LEADER_SESSION_TIMEOUT":         {{value: "1s", want: "LEADER_SESSION_TIMEOUT"}, {value: "soon", want: "LEADER_SESSION_TIMEOUT"}},
		"LEADER_HEARTBEAT_INTERVAL":      {{value: "5s", want: "LEADER_HEARTBEAT_INTERVAL"}},
		"LEADER_REBALANCE_TIMEOUT":       {{value: "-1s", want: "LEADER_REBALANCE_TIMEOUT"}},
		"STATE_STORE":                    {{value: "disk", want: "STATE_STORE"}},
		"STATE_DIR":                      {{value: "/proc/skill6pub-state", want: "state", env: []string{"STATE_STORE=dir"}}},
		"DNIS_HMAC_KEY":                  {{value: "anyValue", want: "any text may be a key"}},
		"HTTP_ADDR":                      {{value: "nope", want: "HTTP_ADDR"}},
		"LOG_LEVEL":                      {{value: "loud", want: "LOG_LEVEL"}},
		"LOG_FORMAT":                     {{value: "xml", want: "LOG_FORMAT"}},
		"SHUTDOWN_TIMEOUT":               {{value: "0s", want: "SHUTDOWN_TIMEOUT"}},
		"CLOCK_SPEED":                    {{value: "0", want: "CLOCK_SPEED"}, {value: "fast", want: "CLOCK_SPEED"}, {value: "NaN", want: "CLOCK_SPEED=NaN: want a finite number"}, {value: "+Inf", want: "CLOCK_SPEED=+Inf: want a finite number"}},
		"CLOCK_START":                    {{value: "yesterday", want: "CLOCK_START"}},
		"SKILL6PUB_FAILPOINT":            {{value: "explode", want: "SKILL6PUB_FAILPOINT"}, {value: "fetch:0", want: "SKILL6PUB_FAILPOINT"}},
	}
}

// badValue is a wrong value of a variable, a part of the error it must
// give, and other variables the case needs.
type badValue struct {
	value, want string
	env         []string
}

// TestEveryVariableWithAWrongValue runs the binary once per wrong value of
// every environment variable, with everything else right (a Kafka is up):
// it must exit 1 with one line on stderr that names the variable, and
// print no secret.
func TestEveryVariableWithAWrongValue(t *testing.T) {
	dir := t.TempDir()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	sim := httptest.NewServer(wolkvoxsim.New(wolkvoxsim.Config{Token: processToken}))
	t.Cleanup(sim.Close)
	bin := binary(t)
	values := badValues(dir)
	for _, name := range config.Variables() {
		if _, ok := values[name]; !ok {
			t.Errorf("%s has no wrong value in badValues: add one, or say why any value is right", name)
		}
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range values {
			if !yield(k) {
				return
			}
		}
	}) {
		for i, bad := range values[name] {
			if bad.value == "anyValue" {
				continue // bad.want says why no value is wrong
			}
			t.Run(name+"/"+string(rune('a'+i)), func(t *testing.T) {
				t.Parallel()
				env := []string{
					"WOLKVOX_SERVER=0032",
					"WOLKVOX_BASE_URL=" + wolkvoxsim.URL(sim.URL),
					"WOLKVOX_TOKEN=" + processToken,
					"SKILL_IDS=3",
					"KAFKA_BROKERS=" + strings.Join(cluster.ListenAddrs(), ","),
					"KAFKA_CREATE_TOPICS=true",
					"KAFKA_TOPIC_REPLICATION_FACTOR=1",
					"STATE_DIR=" + t.TempDir(),
					"HTTP_ADDR=127.0.0.1:0",
					"DNIS_HMAC_KEY=hmac-" + processToken,
				}
				env = append(append(env, bad.env...), name+"="+bad.value)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, "once")
				cmd.Env = append(cleanEnv(), env...)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				out := strings.TrimRight(stderr.String(), "\n")
				var ee *exec.ExitError
				switch {
				case ctx.Err() != nil:
					t.Fatalf("%s=%q: still running after 30s\n%s", name, bad.value, out)
				case err == nil:
					t.Fatalf("%s=%q was accepted\n%s", name, bad.value, out)
				case !errorsAs(err, &ee) || ee.ExitCode() != 1:
					t.Errorf("%s=%q: %v, want exit status 1", name, bad.value, err)
				}
				lines := strings.Split(out, "\n")
				last := lines[len(lines)-1]
				if !strings.HasPrefix(last, "skill6pub: ") || !strings.Contains(last, bad.want) {
					t.Errorf("%s=%q: last line %q should start with \"skill6pub: \" and say %q", name, bad.value, last, bad.want)
				}
				if len(lines) != 1 {
					t.Errorf("%s=%q: %d lines on stderr, want one:\n%s", name, bad.value, len(lines), out)
				}
				if strings.Contains(out+stdout.String(), processToken) {
					t.Errorf("%s=%q: a secret is printed:\n%s", name, bad.value, out)
				}
			})
		}
	}
}

// cleanEnv is the test's environment without any variable skill6pub reads.
func cleanEnv() []string {
	ours := config.Variables()
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(ours, name) {
			env = append(env, kv)
		}
	}
	return env
}

func errorsAs(err error, target **exec.ExitError) bool { return errors.As(err, target) }
