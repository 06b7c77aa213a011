package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

// opsAddr waits for the child's "ops server listening" line and returns
// the address it gives.
func (w *world) opsAddr() string {
	w.t.Helper()
	return opsAddrOf(w.t, &w.logs)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// The case of issue 15: a fresh deployment whose every fetch fails (a wrong
// token) said ready for ever. /readyz must fail, naming each skill and the
// reason, once 2 x INTERVAL + SETTLE_DELAY passed without a publish, and
// /metrics must show the failures and the ages of both skills.
func TestProcessEveryFetchFailingIsNotReady(t *testing.T) {
	w := newWorld(t)
	w.start("WOLKVOX_TOKEN=not-the-token")
	addr := w.opsAddr()
	deadline := time.Now().Add(60 * time.Second)
	var status int
	var body string
	for time.Now().Before(deadline) {
		// 11 virtual minutes are about a second at CLOCK_SPEED=600.
		if status, body = get(t, "http://"+addr+"/readyz"); status == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the child, not waiting for time to pass
	}
	if status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d %q after a minute of failing fetches, want 503\n%s", status, body, w.logs.String())
	}
	for _, want := range []string{"skill 3: ", "skill 7: ", "wolkvox rejected the token", "check WOLKVOX_TOKEN"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz says %q, want %q in it", body, want)
		}
	}
	if strings.Contains(body, "not-the-token") || strings.Contains(w.logs.String(), "not-the-token") {
		t.Error("the token shows in /readyz or in the logs")
	}
	_, metrics := get(t, "http://"+addr+"/metrics")
	for _, want := range []string{`skill6pub_freshness_seconds{skill="3"}`, `skill6pub_freshness_seconds{skill="7"}`,
		`skill6pub_fetch_total{outcome="ok",skill="3"} 0`, `skill6pub_build_info{`, `skill6pub_dead_letters_total{reason="rejected_row",skill="3"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `skill6pub_fetch_total{outcome="auth",skill="3"} 0`) {
		t.Error("fetch_total{outcome=auth,skill=3} is 0 although every fetch failed on the token")
	}
}

// Issue 15: when wolkvox echoes the token in a row, whole or in part, the
// dead letter made of that row (its reason and its raw row) and every event
// must carry neither the token nor a prefix of it, and neither may the logs.
func TestProcessEchoedTokenNeverReachesKafka(t *testing.T) {
	w := newWorld(t)
	w.sim.Update(func(c *wolkvoxsim.Config) { c.EchoToken = true })
	child := w.start()
	reader, ledger := w.newReadBack()
	w.waitClosed(reader, ledger, 2)
	stop(t, child, syscall.SIGTERM)

	dlq, err := consume.NewDeadLetterReader(w.brokers, processTopic+".dlq")
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()
	var deadLetters []consume.Record
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dlq.ReadToEnd(ctx, func(r consume.Record) { deadLetters = append(deadLetters, r) }); err != nil {
		t.Fatal(err)
	}
	if len(deadLetters) == 0 {
		t.Fatal("no dead letter: the echoed row should have been one")
	}
	var all []string
	for _, r := range deadLetters {
		all = append(all, string(r.Value), r.Key, fmt.Sprint(r.Headers))
		if r.DeadLetter == nil || !strings.Contains(r.DeadLetter.Reason, "[REDACTED]") {
			t.Errorf("dead letter %s: the reason should show the redacted value", r.Value)
		}
	}
	readAll(t, reader, ledger)
	topicRecords, err := consume.NewReader(w.brokers, processTopic)
	if err != nil {
		t.Fatal(err)
	}
	defer topicRecords.Close()
	if err := topicRecords.ReadToEnd(ctx, func(r consume.Record) { all = append(all, string(r.Value), r.Key) }); err != nil {
		t.Fatal(err)
	}
	all = append(all, w.logs.String())
	prefix := processToken[:6]
	for _, text := range all {
		if strings.Contains(text, prefix) {
			t.Fatalf("%q, a prefix of the token, reached Kafka or the logs:\n%s", prefix, text)
		}
	}
}
