package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

var takeoverRuns = flag.Int("takeover", 0, "measure the takeover time of a standby replica this many times after SIGTERM and after SIGKILL of the active one (BENCHMARKS.md)")

// TestTakeoverTimes measures, with the real binary and the default
// election settings (LEADER_SESSION_TIMEOUT 10s, LEADER_HEARTBEAT_INTERVAL
// 1s), how long after the active replica is stopped (SIGTERM) or killed
// (SIGKILL) the standby says it is active (skill6pub_active 1 on
// its /metrics, polled every 5 ms). A figure, not an assertion:
//
//	go test ./cmd/skill6pub -run TestTakeoverTimes -takeover 10 -v -timeout 20m
func TestTakeoverTimes(t *testing.T) {
	if *takeoverRuns == 0 {
		t.Skip("the takeover measure runs with -takeover N")
	}
	w := newWorld(t)
	defaults := []string{"LEADER_SESSION_TIMEOUT=10s", "LEADER_HEARTBEAT_INTERVAL=1s", "LEADER_REBALANCE_TIMEOUT=30s"}
	active := w.startReplica("r0", defaults...)
	waitActive(t, active)
	n := 1
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		var times []time.Duration
		for range *takeoverRuns {
			standby := w.startReplica(fmt.Sprintf("r%d", n), defaults...)
			n++
			// The standby's join ends the generation: measure from the
			// one after it, once the standby stands by in it.
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(standby.logs.String(), "standing by: another replica is active") {
				if time.Now().After(deadline) {
					t.Fatalf("replica %s never stood by\n%s", standby.name, standby.logs.String())
				}
				time.Sleep(5 * time.Millisecond) // polling the child's output, not waiting for time to pass
			}
			if got := waitActive(t, active, standby); got != active {
				t.Fatalf("the new replica %s took the activity over from %s on joining", got.name, active.name)
			}
			began := time.Now()
			if err := active.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			deadline = began.Add(60 * time.Second)
			for standby.scrape("skill6pub_active") != "1" {
				if time.Now().After(deadline) {
					t.Fatalf("no takeover within 60s of %v\n%s", sig, replicaLogs([]*replica{active, standby}))
				}
				time.Sleep(5 * time.Millisecond) // polling the standby, not waiting for time to pass
			}
			times = append(times, time.Since(began))
			_ = active.cmd.Wait()
			active = standby
		}
		slices.Sort(times)
		t.Logf("takeover after %v, %d runs: median %s, worst %s, best %s, all %v",
			sig, len(times), times[len(times)/2].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond),
			times[0].Round(time.Millisecond), times)
	}
	stopAll(t, []*replica{active})
}
