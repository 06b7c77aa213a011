package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/reliability"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/state"
)

// TestCrashAtFailpoints runs the real binary with SKILL6PUB_FAILPOINT so
// that it kills itself with SIGKILL at a chosen point of its third window,
// checks the state it left, starts it again, and reads the whole topic and
// the dead-letter topic back: every window published at least once, in
// order per key, every duplicate identical to its first copy, the state
// readable. One skill, so that the nth state write is a known one: window k
// writes its write-ahead record (write 2k-1) then its commit (write 2k).
func TestCrashAtFailpoints(t *testing.T) {
	for _, tc := range []struct {
		failpoint string
		// published says whether the window in flight reached Kafka before
		// the kill: then it goes out again, identical, after the restart.
		published bool
		// pending says whether the state left holds the window in flight
		// as its write-ahead record.
		pending bool
	}{
		{"fetch:3", false, false},
		{"after-publish:3", true, true},
		{"state-write:5", false, false}, // the write-ahead record of window 3
		{"state-write:6", true, true},   // the commit of window 3
	} {
		t.Run(tc.failpoint, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			// The state-write failpoint is the state directory's, and so
			// is the state this test inspects after the kill.
			child := w.start("SKILL_IDS=3", "STATE_STORE=dir", "SKILL6PUB_FAILPOINT="+tc.failpoint)
			if code := waitExit(t, child, 60*time.Second); code != -int(syscall.SIGKILL) {
				t.Fatalf("the child exited %d, want killed by its failpoint\n%s", code, w.logs.String())
			}
			if !strings.Contains(w.logs.String(), "failpoint reached") {
				t.Fatalf("the child did not die at its failpoint\n%s", w.logs.String())
			}
			st := loadState(t, w.stateDir)
			last, ok := st.Last()
			if !ok {
				t.Fatal("no window committed before the kill")
			}
			if got := st.Pending != nil; got != tc.pending {
				t.Fatalf("after the kill the state has a pending window: %v, want %v", got, tc.pending)
			}
			if tc.pending && !st.Pending.WindowStart.Equal(last.WindowEnd) {
				t.Errorf("pending window %s does not follow the last committed one (%s)", st.Pending.WindowStart, last.WindowStart)
			}

			reader, ledger := w.newReadBack()
			readAll(t, reader, ledger)
			before := len(windowsBySkill(ledger)["3"])
			if tc.published != (before == 3) || before < 2 {
				t.Fatalf("%d windows on the topic after the kill; the window in flight published: %v", before, tc.published)
			}
			restarted := w.start("SKILL_IDS=3", "STATE_STORE=dir")
			waitWindows(t, w, reader, ledger, "3", before+3)
			if code := stop(t, restarted, syscall.SIGTERM); code != 0 {
				t.Fatalf("the restarted child exited %d after SIGTERM\n%s", code, w.logs.String())
			}

			c, err := reliability.NewChecker(w.brokers, processTopic, processTopic+".dlq")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.ReadToEnd(ctx); err != nil {
				t.Fatal(err)
			}
			tallies := c.Tallies()
			loc, _ := time.LoadLocation("America/Bogota")
			problems := c.Check(reliability.Expect{
				Skills:   []string{"3"},
				Calendar: scheduler.Calendar{Interval: 5 * time.Minute, SettleDelay: 30 * time.Second, Location: loc},
				First:    tallies.FirstWindow, Last: tallies.LastWindow,
				BadRow: func(*schema.DeadLetter) bool { return false },
			})
			if len(problems) > 0 {
				t.Errorf("broken promises:\n%s", strings.Join(problems, "\n"))
			}
			if tallies.Windows < before+3 {
				t.Errorf("%d windows in all, want at least %d", tallies.Windows, before+3)
			}
			inFlight := 0
			for _, tally := range c.Ledger.Closed() {
				if tally.Key.Start.Equal(last.WindowEnd.UTC()) {
					inFlight = tally.Closed.RowCount + tally.Closed.GoneCount + 1
				}
			}
			if want := map[bool]int{true: inFlight, false: 0}[tc.published]; tallies.Duplicates != want {
				t.Errorf("%d duplicate records, want %d (the window in flight published before the kill: %v)", tallies.Duplicates, want, tc.published)
			}
			if st := loadState(t, w.stateDir); st.Pending != nil {
				t.Errorf("a pending window is left after a clean stop: %+v", st.Pending.WindowStart)
			}
			if strings.Contains(w.logs.String(), processToken) {
				t.Error("the wolkvox token appears in the child's logs")
			}
		})
	}
}

// waitExit waits for a child that is to end by itself; past limit it is
// killed and the test fails. It returns the exit code, or minus the signal.
func waitExit(t *testing.T, child *exec.Cmd, limit time.Duration) int {
	t.Helper()
	timer := time.AfterFunc(limit, func() { _ = child.Process.Kill() })
	defer timer.Stop()
	err := child.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// loadState reads the live state of skill 3 as the next start will.
func loadState(t *testing.T, dir string) state.State {
	t.Helper()
	d, err := state.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, _, err := d.Load(state.Key{Operation: "0032", SkillID: "3"})
	if err != nil {
		t.Fatalf("the state left is not readable: %v", err)
	}
	return st
}

// waitWindows reads the topic until skill has n whole windows.
func waitWindows(t *testing.T, w *world, reader *consume.Reader, ledger *consume.Ledger, skill string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		have := 0
		for _, tally := range ledger.Closed() {
			if tally.Key.SkillID == skill && tally.Complete() {
				have++
			}
		}
		if have >= n {
			return
		}
		records, err := reader.Poll(ctx)
		if err != nil {
			t.Fatalf("waiting for %d windows of skill %s (have %d): %v\n%s", n, skill, have, err, w.logs.String())
		}
		for _, r := range records {
			ledger.Add(r)
		}
	}
}
