package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/internal/syncbuf"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

// These tests run the real binary as a child process against the
// simulator and an in-process Kafka, on an accelerated clock (CLOCK_SPEED),
// and read the topic back with franz-go.

const (
	processToken = "process-test-token"
	processSpeed = 600 // a five-minute window every half second
	processTopic = "wolkvox.skill6.dnis-service-level"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds skill6pub once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "skill6pub-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "skill6pub")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// world is what a child process talks to: the simulator, Kafka, a state
// directory, and the virtual clock the child runs on.
type world struct {
	t        *testing.T
	sim      *wolkvoxsim.Server
	simURL   string
	brokers  []string
	stateDir string
	clock    *clock.Accelerated
	logs     syncbuf.Buffer // the child's output, copied by os/exec's goroutine
}

func newWorld(t *testing.T) *world {
	loc, err := time.LoadLocation("America/Bogota")
	if err != nil {
		t.Fatal(err)
	}
	// Virtual time starts yesterday, so that every window the child asks
	// for is complete on the simulator's wall clock.
	origin := time.Now().In(loc).Add(-24 * time.Hour).Truncate(time.Hour).Add(2*time.Minute - time.Second)
	sim := wolkvoxsim.New(wolkvoxsim.Config{Token: processToken, Seed: 11, Location: loc, CallersPerWindow: 25, Population: 100})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	// Replicas elect the active one with sessions of a few seconds
	// (LEADER_SESSION_TIMEOUT), below a real broker's 6 s floor.
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	return &world{
		t:        t,
		sim:      sim,
		simURL:   wolkvoxsim.URL(srv.URL),
		brokers:  cluster.ListenAddrs(),
		stateDir: t.TempDir(),
		clock:    clock.NewAccelerated(origin, processSpeed),
	}
}

// start launches `skill6pub run` with the virtual clock where the test's
// own copy of it is now, so that a restarted child continues in time.
func (w *world) start(extraEnv ...string) *exec.Cmd {
	w.t.Helper()
	return w.startWriting(&w.logs, extraEnv...)
}

// startWriting is start with the child's output going to out.
func (w *world) startWriting(out io.Writer, extraEnv ...string) *exec.Cmd {
	w.t.Helper()
	return w.startCommand(out, []string{"run"}, extraEnv...)
}

// startCommand launches skill6pub with args, configured as start does.
func (w *world) startCommand(out io.Writer, args []string, extraEnv ...string) *exec.Cmd {
	w.t.Helper()
	cmd := exec.Command(binary(w.t), args...)
	cmd.Env = append(os.Environ(),
		"WOLKVOX_SERVER=0032",
		"WOLKVOX_BASE_URL="+w.simURL,
		"WOLKVOX_TOKEN="+processToken,
		"WOLKVOX_DAILY_QUOTA=0",
		"SKILL_IDS=3,7",
		"SETTLE_DELAY=30s",
		"KAFKA_BROKERS="+strings.Join(w.brokers, ","),
		"KAFKA_CREATE_TOPICS=true",
		"KAFKA_TOPIC_PARTITIONS=3",
		"KAFKA_TOPIC_REPLICATION_FACTOR=1",
		"STATE_DIR="+w.stateDir,
		"HTTP_ADDR=127.0.0.1:0",
		"LOG_LEVEL=info",
		fmt.Sprintf("CLOCK_SPEED=%d", processSpeed),
		"CLOCK_START="+w.clock.Now().Format(time.RFC3339Nano),
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	// A test that fails half way must not leave its child behind (nor
	// block the simulator's Close on a request the child keeps open).
	w.t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd
}

// waitClosed reads the topic until every skill has at least n whole
// windows, or fails the test after a generous deadline.
func (w *world) waitClosed(reader *consume.Reader, ledger *consume.Ledger, n int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		perSkill := map[string]int{}
		for _, t := range ledger.Closed() {
			if t.Complete() {
				perSkill[t.Key.SkillID]++
			}
		}
		if perSkill["3"] >= n && perSkill["7"] >= n {
			return
		}
		records, err := reader.Poll(ctx)
		if err != nil {
			w.t.Fatalf("waiting for %d windows per skill (have %v): %v\nchild logs:\n%s", n, perSkill, err, w.logs.String())
		}
		for _, r := range records {
			ledger.Add(r)
		}
	}
}

// stop sends sig and waits for the child; it returns the exit code.
func stop(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) int {
	t.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

// windowsBySkill returns, per skill, the starts of the closed windows of
// revision 0, in order.
func windowsBySkill(ledger *consume.Ledger) map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, t := range ledger.Closed() {
		if t.Key.Revision == 0 {
			out[t.Key.SkillID] = append(out[t.Key.SkillID], t.Key.Start)
		}
	}
	for _, starts := range out {
		sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	}
	return out
}

// assertContiguous fails unless every skill's windows follow each other
// without a gap.
func assertContiguous(t *testing.T, ledger *consume.Ledger) {
	t.Helper()
	for skill, starts := range windowsBySkill(ledger) {
		for i := 1; i < len(starts); i++ {
			if gap := starts[i].Sub(starts[i-1]); gap != 5*time.Minute {
				t.Errorf("skill %s: window %s follows %s (gap %s)", skill, starts[i].Format(time.RFC3339), starts[i-1].Format(time.RFC3339), gap)
			}
		}
	}
}

func readAll(t *testing.T, reader *consume.Reader, ledger *consume.Ledger) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := reader.ReadToEnd(ctx, ledger.Add); err != nil {
		t.Fatal(err)
	}
}

// newReadBack returns a reader of the topic and the ledger it fills.
func (w *world) newReadBack() (*consume.Reader, *consume.Ledger) {
	reader, err := consume.NewReader(w.brokers, processTopic)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(reader.Close)
	return reader, consume.NewLedger()
}

// runUntil starts a child, lets it publish until every skill has `windows`
// whole windows on the topic, stops it with sig, checks its exit code and
// reads the topic to its end.
func (w *world) runUntil(reader *consume.Reader, ledger *consume.Ledger, windows int, sig syscall.Signal, wantCode int) {
	w.t.Helper()
	child := w.start()
	w.waitClosed(reader, ledger, windows)
	if code := stop(w.t, child, sig); code != wantCode {
		w.t.Fatalf("exit %d after %v, want %d\n%s", code, sig, wantCode, w.logs.String())
	}
	readAll(w.t, reader, ledger)
}

func TestProcessStopsOnSIGTERMAndResumesWithoutGapOrDuplicate(t *testing.T) {
	w := newWorld(t)
	reader, ledger := w.newReadBack()
	w.runUntil(reader, ledger, 3, syscall.SIGTERM, 0)
	before := windowsBySkill(ledger)
	w.runUntil(reader, ledger, len(before["3"])+3, syscall.SIGTERM, 0)

	if ledger.Duplicates != 0 {
		t.Errorf("%d records published twice across a clean restart", ledger.Duplicates)
	}
	if p := ledger.Problems(); len(p) > 0 {
		t.Errorf("broken promises:\n%s", strings.Join(p, "\n"))
	}
	assertContiguous(t, ledger)
	after := windowsBySkill(ledger)
	for _, skill := range []string{"3", "7"} {
		if len(after[skill]) < len(before[skill])+3 {
			t.Errorf("skill %s: %d windows after restart, want at least %d", skill, len(after[skill]), len(before[skill])+3)
		}
	}
	if strings.Contains(w.logs.String(), processToken) {
		t.Error("the wolkvox token appears in the child's logs")
	}
}

func TestProcessKilledMidRunRepublishesAtMostTheWindowInFlight(t *testing.T) {
	w := newWorld(t)
	reader, ledger := w.newReadBack()
	w.runUntil(reader, ledger, 3, syscall.SIGKILL, -int(syscall.SIGKILL))
	before := windowsBySkill(ledger)
	w.runUntil(reader, ledger, len(before["3"])+2, syscall.SIGTERM, 0)

	if p := ledger.Problems(); len(p) > 0 {
		t.Errorf("broken promises (a re-published event must be identical to its first copy):\n%s", strings.Join(p, "\n"))
	}
	assertContiguous(t, ledger)
	// At most the window in flight of each skill went out twice: its
	// DNIS events plus its window_closed.
	maxDup := 0
	for _, tally := range ledger.Closed() {
		if n := tally.Closed.RowCount + tally.Closed.GoneCount + 1; n > maxDup {
			maxDup = n
		}
	}
	if ledger.Duplicates > 2*maxDup {
		t.Errorf("%d duplicates after SIGKILL: more than the window in flight of each skill (at most %d)", ledger.Duplicates, 2*maxDup)
	}
}

func TestProcessSecondSignalExitsAtOnce(t *testing.T) {
	w := newWorld(t)
	// Every answer hangs: the child is stuck in its first fetch, which the
	// first SIGTERM gives SHUTDOWN_TIMEOUT to finish.
	w.sim.Inject(wolkvoxsim.FaultHang, 1000)
	child := w.start("SHUTDOWN_TIMEOUT=10m", "WOLKVOX_TIMEOUT=10m")
	deadline := time.Now().Add(30 * time.Second)
	for w.sim.Stats().Requests == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the child made no request\n%s", w.logs.String())
		}
		runtime.Gosched()
	}
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(w.logs.String(), "shutting down") {
		if time.Now().After(deadline) {
			t.Fatalf("no shutdown log line after the first SIGTERM\n%s", w.logs.String())
		}
		runtime.Gosched()
	}
	if code := stop(t, child, syscall.SIGTERM); code != -int(syscall.SIGTERM) {
		t.Fatalf("exit %d after a second SIGTERM, want death by SIGTERM at once (the first one waits up to SHUTDOWN_TIMEOUT=10m)\n%s", code, w.logs.String())
	}
}
