package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/internal/syncbuf"
)

// These tests run several replicas of `skill6pub run` (real child
// processes) on one state topic, as a Deployment of several pods does, and
// stop, kill, freeze and restart them. Each replica has a state directory
// of its own, fresh at every start: nothing it decides lives there.

// replicaEnv are the settings of every replica: short sessions, so that a
// replica that dies or freezes is replaced within seconds.
var replicaEnv = []string{"LEADER_SESSION_TIMEOUT=3s", "LEADER_HEARTBEAT_INTERVAL=250ms", "LEADER_REBALANCE_TIMEOUT=10s"}

// replica is one child process among replicas, with its own output.
type replica struct {
	name string
	cmd  *exec.Cmd
	logs *syncbuf.Buffer
	ops  string // host:port of its ops server
}

// startReplica starts a replica named name (its INSTANCE_ID).
func (w *world) startReplica(name string, extraEnv ...string) *replica {
	w.t.Helper()
	r := &replica{name: name, logs: &syncbuf.Buffer{}}
	env := append([]string{"INSTANCE_ID=" + name, "STATE_DIR=" + w.t.TempDir()}, replicaEnv...)
	r.cmd = w.startWriting(r.logs, append(env, extraEnv...)...)
	r.ops = opsAddrOf(w.t, r.logs)
	return r
}

// opsAddrOf waits for the "ops server listening" line in logs.
func opsAddrOf(t *testing.T, logs *syncbuf.Buffer) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			var l struct{ Message, Addr string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Message == "ops server listening" {
				return l.Addr
			}
		}
		time.Sleep(10 * time.Millisecond) // polling the child's output, not waiting for time to pass
	}
	t.Fatalf("the child never said where its ops server listens\n%s", logs.String())
	return ""
}

// scrape returns the value of metric (a line "name value") on r's
// /metrics, or "" when r does not answer.
func (r *replica) scrape(metric string) string {
	resp, err := http.Get("http://" + r.ops + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, metric+" "); ok {
			return v
		}
	}
	return ""
}

// ready reports whether r's /readyz answers 200.
func (r *replica) ready() bool {
	resp, err := http.Get("http://" + r.ops + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitActive polls the replicas' skill6pub_active until exactly
// one of them says 1, and returns it.
func waitActive(t *testing.T, replicas ...*replica) *replica {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var active []*replica
		for _, r := range replicas {
			if r.scrape("skill6pub_active") == "1" {
				active = append(active, r)
			}
		}
		if len(active) == 1 {
			return active[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d active replicas among %d after 30s, want one\n%s", len(active), len(replicas), replicaLogs(replicas))
		}
		time.Sleep(20 * time.Millisecond) // polling the replicas, not waiting for time to pass
	}
}

// others returns the replicas but r.
func others(replicas []*replica, r *replica) []*replica {
	var out []*replica
	for _, o := range replicas {
		if o != r {
			out = append(out, o)
		}
	}
	return out
}

func replicaLogs(replicas []*replica) string {
	var b strings.Builder
	for _, r := range replicas {
		fmt.Fprintf(&b, "--- %s\n%s", r.name, r.logs.String())
	}
	return b.String()
}

// checkTopic reads the topic to its end and checks the promises: no event
// id with two contents, window_closed counts right, windows contiguous per
// skill, at least want windows per skill. Problems that hold one of
// expected are left out.
func checkTopic(t *testing.T, reader *consume.Reader, ledger *consume.Ledger, want int, replicas []*replica, expected ...string) {
	t.Helper()
	readAll(t, reader, ledger)
	p := slices.DeleteFunc(ledger.Problems(), func(problem string) bool {
		return slices.ContainsFunc(expected, func(e string) bool { return strings.Contains(problem, e) })
	})
	if len(p) > 0 {
		t.Errorf("broken promises (an event id with two contents, or window_closed counts that disagree):\n%s\n%s",
			strings.Join(p, "\n"), replicaLogs(replicas))
	}
	assertContiguous(t, ledger)
	for skill, starts := range windowsBySkill(ledger) {
		if len(starts) < want {
			t.Errorf("skill %s: %d windows, want at least %d", skill, len(starts), want)
		}
	}
}

// stopAll stops every replica still running with SIGTERM; each must exit 0.
func stopAll(t *testing.T, replicas []*replica) {
	t.Helper()
	for _, r := range replicas {
		if r.cmd.ProcessState != nil {
			continue
		}
		if code := stop(t, r.cmd, syscall.SIGTERM); code != 0 {
			t.Errorf("replica %s exited %d after SIGTERM\n%s", r.name, code, r.logs.String())
		}
	}
}

// Three replicas: one publishes, the others stand by, ready. The active
// one is killed with SIGKILL; another takes over within its session and
// goes on from the record with no gap and no second content.
func TestReplicasKilledActiveIsReplaced(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	reader, ledger := w.newReadBack()
	replicas := []*replica{w.startReplica("a"), w.startReplica("b"), w.startReplica("c")}
	active := waitActive(t, replicas...)
	w.waitClosed(reader, ledger, 3)
	takeovers := map[*replica]string{}
	for _, r := range others(replicas, active) {
		waitReady(t, r)
		if got := r.scrape("skill6pub_active"); got != "0" {
			t.Errorf("standby %s: skill6pub_active %s, want 0", r.name, got)
		}
		takeovers[r] = r.scrape("skill6pub_takeovers_total")
	}
	before := len(windowsBySkill(ledger)["3"])
	if code := stop(t, active.cmd, syscall.SIGKILL); code != -int(syscall.SIGKILL) {
		t.Fatalf("exit %d after SIGKILL", code)
	}
	next := waitActive(t, others(replicas, active)...)
	w.waitClosed(reader, ledger, before+3)
	if got, was := next.scrape("skill6pub_takeovers_total"), takeovers[next]; got == was {
		t.Errorf("the replica that took over still counts %s takeovers", got)
	}
	if !strings.Contains(next.logs.String(), "this replica is now the active one") {
		t.Errorf("the replica that took over does not say so\n%s", next.logs.String())
	}
	stopAll(t, replicas)
	checkTopic(t, reader, ledger, before+3, replicas)
}

// waitReady polls r's /readyz until it answers 200.
func waitReady(t *testing.T, r *replica) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !r.ready() {
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not ready after 30s\n%s", r.name, r.logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling /readyz, not waiting for time to pass
	}
}

// Two replicas and a wolkvox whose data changes on every fetch. The active
// one freezes (SIGSTOP, at a failpoint) with a fetched window in hand; the
// standby takes over and publishes that window from its own fetch, and
// more. Then the frozen one is resumed (SIGCONT): it wakes up believing it
// is active, in the middle of that window. It must not publish its fetch
// (another content under the window's ids); it gives way and stands down,
// and one replica goes on.
func TestReplicasFrozenActiveWakesUpWithoutASecondContent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sim.Update(func(c *wolkvoxsim.Config) { c.ChangeEveryFetch = true })
	reader, ledger := w.newReadBack()
	// Two skills: the 8th fetch is one of the 4th window.
	frozen := w.startReplica("a", "SKILL6PUB_FAILPOINT=fetch:8:stop")
	waitActive(t, frozen)
	standby := w.startReplica("b")
	replicas := []*replica{frozen, standby}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(frozen.logs.String(), "freezing the process with SIGSTOP") {
		if time.Now().After(deadline) {
			t.Fatalf("the active replica never froze\n%s", replicaLogs(replicas))
		}
		time.Sleep(20 * time.Millisecond) // polling the child's output, not waiting for time to pass
	}
	if next := waitActive(t, standby); next != standby {
		t.Fatal("the standby did not take over")
	}
	readAll(t, reader, ledger)
	before := len(windowsBySkill(ledger)["3"])
	w.waitClosed(reader, ledger, before+3)
	if err := frozen.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for !strings.Contains(frozen.logs.String(), "standing down") {
		if time.Now().After(deadline) {
			t.Fatalf("the resumed replica never stood down\n%s", replicaLogs(replicas))
		}
		time.Sleep(20 * time.Millisecond) // polling the child's output, not waiting for time to pass
	}
	w.waitClosed(reader, ledger, before+6)
	if active := waitActive(t, replicas...); active != standby {
		t.Errorf("replica %s is active after the frozen one woke up, want b", active.name)
	}
	stopAll(t, replicas)
	checkTopic(t, reader, ledger, before+6, replicas)
}

// A rolling restart of two replicas, each one stopped with SIGTERM and
// started again with an empty state directory: the windows go on with no
// gap and no second content.
func TestReplicasRollingRestart(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	reader, ledger := w.newReadBack()
	replicas := []*replica{w.startReplica("a"), w.startReplica("b")}
	waitActive(t, replicas...)
	w.waitClosed(reader, ledger, 2)
	for i, name := range []string{"a2", "b2"} {
		if code := stop(t, replicas[i].cmd, syscall.SIGTERM); code != 0 {
			t.Fatalf("replica %s exited %d after SIGTERM\n%s", replicas[i].name, code, replicas[i].logs.String())
		}
		replicas = append(replicas, w.startReplica(name))
		waitActive(t, replicas[i+1:]...)
		w.waitClosed(reader, ledger, len(windowsBySkill(ledger)["3"])+2)
	}
	stopAll(t, replicas)
	checkTopic(t, reader, ledger, 6, replicas)
}

// once and a backfill run as processes of their own while two replicas
// publish, with a wolkvox whose data changes on every fetch: they share
// the record with the service (conditional saves), so the hour before the
// service's start is backfilled, the stream is contiguous from there, and
// no event id gets two contents.
func TestOnceAndBackfillRunBesideTheService(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sim.Update(func(c *wolkvoxsim.Config) { c.ChangeEveryFetch = true })
	reader, ledger := w.newReadBack()
	replicas := []*replica{w.startReplica("a"), w.startReplica("b")}
	waitActive(t, replicas...)
	w.waitClosed(reader, ledger, 2)
	first := windowsBySkill(ledger)["3"][0]
	// Slower answers stretch the backfill over several live windows, whose
	// saves then come between the backfill's.
	w.sim.Update(func(c *wolkvoxsim.Config) { c.Latency = 20 * time.Millisecond })

	var out syncbuf.Buffer
	backfill := w.startCommand(&out, []string{"backfill", "--from", first.Add(-2 * time.Hour).Format(time.RFC3339), "--to", first.Format(time.RFC3339)},
		"STATE_DIR="+t.TempDir())
	once := w.startCommand(&out, []string{"once", "--window", first.Format(time.RFC3339)}, "STATE_DIR="+t.TempDir())
	for name, cmd := range map[string]*exec.Cmd{"backfill": backfill, "once": once} {
		if code := waitExit(t, cmd, 60*time.Second); code != 0 {
			t.Fatalf("%s exited %d\n%s", name, code, out.String())
		}
	}
	w.waitClosed(reader, ledger, len(windowsBySkill(ledger)["3"])+2)
	stopAll(t, replicas)
	t.Logf("saves that gave way to another process's: %d by once and the backfill, %d by the replicas",
		strings.Count(out.String(), "another process saved"), strings.Count(replicaLogs(replicas), "another process saved"))
	// A backfill publishes windows older than those published live: the
	// ledger says so, and it is what a backfill is.
	checkTopic(t, reader, ledger, 24+2, replicas, "arrived after window")
	if got := windowsBySkill(ledger)["3"][0]; !got.Equal(first.Add(-2 * time.Hour)) {
		t.Errorf("skill 3 starts at %s, want the backfill's start %s\n%s", got, first.Add(-2*time.Hour), out.String())
	}
}
