package reliability

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/secret"
)

// faultRun is one run of the service in a world with faults injected as
// windows get committed.
type faultRun struct {
	w     *world
	clock *clock.Fake

	mu        sync.Mutex
	committed map[int64]bool // live windows committed, by start (Unix seconds)
	first     time.Time
	failures  int // failed publishes
}

// scenario is a fault and what it needs.
type scenario struct {
	name    string
	brokers int
	sim     func(*wolkvoxsim.Config)
	config  func(*config.Config)
	// inject runs when the at-th window is committed (in the scheduler's
	// goroutine: the next window waits for it).
	at     int
	inject func(r *faultRun)
	// recover runs after each failed publish.
	recover func(r *faultRun, failures int)
	// kill, when set, kills the service at the kill-th time it reaches
	// this failpoint; it is then started again on the same state.
	kill   string
	killAt int
	// check adds checks of its own.
	check func(t *testing.T, r *faultRun, c *Checker)
	// extraSecrets are other secrets the run must not leak.
	extraSecrets []string
}

const scenarioWindows = 12

// scenarioStart is 10:01 in Bogota: the first window, 09:55, is due.
func scenarioStart(loc *time.Location) time.Time { return time.Date(2026, 3, 2, 10, 1, 0, 0, loc) }

func (sc scenario) run(t *testing.T) {
	loc := bogota(t)
	fake := clock.NewAutoFake(scenarioStart(loc))
	simCfg := wolkvoxsim.Config{Seed: 7, CallersPerWindow: 12, Population: 40, Clock: fake}
	if sc.sim != nil {
		sc.sim(&simCfg)
	}
	brokers := max(sc.brokers, 1)
	w := newWorld(t, brokers, simCfg, "12")
	if sc.config != nil {
		sc.config(&w.cfg)
	}
	r := &faultRun{w: w, clock: fake, committed: map[int64]bool{}}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()

	killed, runs := 0, 0
	for r.count() < scenarioWindows && ctx.Err() == nil {
		runCtx, stop := context.WithCancel(ctx)
		s := w.setup(fake)
		s.Committed = func(skill string, start time.Time) {
			n := r.commit(start)
			if n == sc.at && sc.inject != nil {
				sc.inject(r)
			}
			if n >= scenarioWindows {
				stop()
			}
		}
		s.PublishFailed = func(error) {
			r.mu.Lock()
			r.failures++
			n := r.failures
			r.mu.Unlock()
			if sc.recover != nil {
				sc.recover(r, n)
			}
		}
		if sc.kill != "" && killed == 0 {
			hits := 0
			s.Failpoint = func(point string) bool {
				if point == sc.kill {
					hits++
				}
				return point == sc.kill && hits == sc.killAt
			}
		}
		res, err := w.run(runCtx, s)
		stop()
		runs++
		if res.Killed {
			killed++
		} else if err != nil {
			t.Fatalf("run %d: %v", runs, err)
		}
		if runs > 5 {
			t.Fatalf("%d runs and only %d windows", runs, r.count())
		}
	}
	if sc.kill != "" && killed != 1 {
		t.Fatalf("the run was killed %d times at %s, want once", killed, sc.kill)
	}

	c := w.checker(t)
	first := r.firstWindow()
	last := w.calendar().WindowAt(first)
	for range scenarioWindows - 1 {
		last = w.calendar().Next(last)
	}
	if problems := c.Check(Expect{Skills: []string{"12"}, Calendar: w.calendar(), First: first, Last: last.Start, BadRow: isBadRow}); len(problems) > 0 {
		t.Errorf("broken promises:\n%s", strings.Join(problems, "\n"))
	}
	if sc.check != nil {
		sc.check(t, r, c)
	}
	for i, h := range w.kafka.Faults() {
		if h.Hits() == 0 {
			t.Errorf("kafka fault %d never bit", i)
		}
	}
	if w.logs.Len() == 0 {
		t.Error("no log lines were captured: the secrets check saw nothing")
	}
	w.assertNoSecrets(t)
	for _, s := range sc.extraSecrets {
		if strings.Contains(w.logs.String()+strings.Join(w.texts, ""), s) {
			t.Errorf("the secret %q leaked", s)
		}
	}
	t.Logf("%s: %d runs, %d publish failures, %s; upstream %v", sc.name, runs, r.failures,
		strings.ReplaceAll(c.Tallies().String(), "\n", "; "), w.upstream.Sim.Stats().Faults)
}

// commit records a committed window and returns how many there are.
func (r *faultRun) commit(start time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.committed) == 0 {
		r.first = start
	}
	r.committed[start.Unix()] = true
	return len(r.committed)
}

func (r *faultRun) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.committed)
}

func (r *faultRun) firstWindow() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

// spoiled rows are the bad rows Upstream.SpoilRows splices in: their DNIS
// starts with "bad-".
func spoiledRows(skill string, start time.Time) []string {
	if start.Minute()%15 != 5 {
		return nil
	}
	return []string{
		`{"dnis":"bad-negative","inbound_calls":"-4","answer_calls":"1","abandon_calls":"0"}`,
		`{"dnis":"bad-nan","inbound_calls":"1","abandon":"NaN"}`,
		`{"dnis":"bad-huge","inbound_calls":"99999999999999999999"}`,
		`{"dnis":"bad-` + strings.Repeat("9", 10000) + `","inbound_calls":"1"}`,
	}
}

// duplicates checks whether the kill left exactly one window published
// twice (want) or none.
func duplicates(want bool) func(t *testing.T, r *faultRun, c *Checker) {
	return func(t *testing.T, _ *faultRun, c *Checker) {
		closed := 0
		for _, tally := range c.Ledger.Closed() {
			closed = max(closed, tally.Closed.RowCount+tally.Closed.GoneCount+1)
		}
		switch n := c.Ledger.Duplicates; {
		case !want && n != 0:
			t.Errorf("%d duplicates: the window in flight was not published before the kill", n)
		case want && (n == 0 || n > closed):
			t.Errorf("%d duplicates, want the one window in flight published again (at most %d records)", n, closed)
		}
	}
}

func TestFaults(t *testing.T) {
	scenarios := []scenario{
		{name: "upstream 500 and busy", at: 3, inject: func(r *faultRun) {
			r.w.upstream.Sim.Inject(wolkvoxsim.Fault500, 3)
			r.w.upstream.Sim.Inject(wolkvoxsim.FaultBusy, 2)
		}},
		{name: "upstream maintenance and quota spent", at: 3, inject: func(r *faultRun) {
			r.w.upstream.Sim.Inject(wolkvoxsim.FaultMaintenance, 2)
			r.w.upstream.Sim.Inject(wolkvoxsim.FaultQuota, 2)
		}},
		{name: "upstream malformed bodies", at: 2, inject: func(r *faultRun) {
			for _, f := range []wolkvoxsim.Fault{wolkvoxsim.FaultTruncated, wolkvoxsim.FaultWrongTypes, wolkvoxsim.FaultNotJSON, wolkvoxsim.FaultCodeAsString, wolkvoxsim.FaultUnauthorized} {
				r.w.upstream.Sim.Inject(f, 1)
			}
		}},
		{name: "upstream data null is an empty window", at: 4, inject: func(r *faultRun) {
			r.w.upstream.Sim.Inject(wolkvoxsim.FaultDataNull, 1)
		}, check: func(t *testing.T, _ *faultRun, c *Checker) {
			if c.Tallies().EmptyWindows == 0 {
				t.Error("the data:null answer was not published as an empty window")
			}
		}},
		{name: "upstream hangs past the deadline", at: 3,
			config: func(c *config.Config) { c.Wolkvox.Timeout = 300 * time.Millisecond },
			inject: func(r *faultRun) { r.w.upstream.Sim.Inject(wolkvoxsim.FaultHang, 2) }},
		{name: "upstream huge body", at: 3,
			sim:    func(c *wolkvoxsim.Config) { c.HugeBodyBytes = 3 << 20 },
			config: func(c *config.Config) { c.Wolkvox.MaxBodyBytes = 1 << 20 },
			inject: func(r *faultRun) { r.w.upstream.Sim.Inject(wolkvoxsim.FaultHugeBody, 1) }},
		{name: "upstream latency and random errors", at: 1, inject: func(r *faultRun) {
			r.w.upstream.Sim.Update(func(c *wolkvoxsim.Config) { c.Latency, c.ErrorRate, c.MalformedRate = 20*time.Second, 0.2, 0.1 })
		}},
		{name: "late data with revisions",
			sim:    func(c *wolkvoxsim.Config) { c.LateData = 90 * time.Second },
			config: func(c *config.Config) { c.Schedule.ReviseWindows = 2 },
			check: func(t *testing.T, _ *faultRun, c *Checker) {
				if c.Tallies().Revisions == 0 {
					t.Error("late data gave no revision")
				}
			}},
		{name: "bad rows go to the dead-letter topic", at: 1,
			inject: func(r *faultRun) { r.w.upstream.SpoilRows(spoiledRows) },
			check: func(t *testing.T, _ *faultRun, c *Checker) {
				if c.Tallies().RowDeadLetters < 4 {
					t.Errorf("%d row dead letters, want the spoiled rows", c.Tallies().RowDeadLetters)
				}
			}},
		{name: "kafka retriable produce errors", at: 3, inject: func(r *faultRun) {
			r.w.kafka.FailProduce(r.w.cfg.Kafka.Topic, kerr.NotLeaderForPartition, 2)
			r.w.kafka.FailProduce(r.w.cfg.Kafka.Topic, kerr.NotEnoughReplicas, 2)
		}},
		{name: "kafka acks lost after append", at: 3, inject: func(r *faultRun) {
			r.w.kafka.FailProduce(r.w.cfg.Kafka.Topic, kerr.RequestTimedOut, 1)
			r.w.kafka.FailProduce(r.w.cfg.Kafka.Topic, kerr.NotEnoughReplicasAfterAppend, 1)
		}, check: func(t *testing.T, _ *faultRun, c *Checker) {
			if c.Ledger.Duplicates == 0 {
				t.Error("no duplicate after lost acks: the fault did not bite")
			}
		}},
		{name: "kafka refuses authorization for a while", at: 3, inject: func(r *faultRun) {
			r.w.kafka.FailProduce(r.w.cfg.Kafka.Topic, kerr.TopicAuthorizationFailed, 4)
		}, check: func(t *testing.T, r *faultRun, _ *Checker) {
			if r.failures == 0 {
				t.Error("no publish failed")
			}
		}},
		{name: "kafka stalls past the write timeout", at: 3,
			config: func(c *config.Config) { c.Kafka.WriteTimeout, c.Kafka.RequestTimeout = time.Second, 5*time.Second },
			inject: func(r *faultRun) {
				_, release := r.w.kafka.StallProduce()
				r.w.t.Cleanup(release)
			},
			recover: func(r *faultRun, _ int) { r.w.kafka.ResetConnections() }},
		{name: "kafka connections reset", at: 2, inject: func(r *faultRun) {
			r.w.kafka.ResetConnections()
		}, recover: func(r *faultRun, _ int) { r.w.kafka.ResetConnections() }},
		{name: "kafka leader moves across three brokers", brokers: 3, at: 3, inject: func(r *faultRun) {
			if err := r.w.kafka.MoveLeaders(r.w.cfg.Kafka.Topic); err != nil {
				r.w.t.Error(err)
			}
		}},
		{name: "kafka outage and restart on the same port", at: 4,
			inject:  func(r *faultRun) { r.w.kafka.Outage() },
			recover: func(r *faultRun, _ int) { r.w.kafka.Restart() },
			check: func(t *testing.T, r *faultRun, _ *Checker) {
				if r.w.kafka.Outages() != 1 || r.failures == 0 {
					t.Errorf("%d outages, %d failed publishes", r.w.kafka.Outages(), r.failures)
				}
			}},
		// Each window saves the state twice: its write-ahead record, then
		// its commit. A kill before the window was published leaves no
		// duplicate; a kill after it re-publishes the window, identical.
		{name: "killed after publish, restarted", kill: PointAfterPublish, killAt: 4, check: duplicates(true)},
		{name: "killed in the write-ahead save, restarted", kill: PointStateWrite, killAt: 7, check: duplicates(false)},
		{name: "killed in the commit save, restarted", kill: PointStateWrite, killAt: 8, check: duplicates(true)},
		{name: "killed in a fetch, restarted", kill: PointFetch, killAt: 5, check: duplicates(false)},
		{name: "hashed DNIS, killed after publish", kill: PointAfterPublish, killAt: 3, check: duplicates(true),
			config:       func(c *config.Config) { c.Service.DNISHMACKey = secret.New("hmac-secret-Pp4") },
			extraSecrets: []string{"hmac-secret-Pp4"}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t)
		})
	}
}

// TestWrongSASLPasswordIsAClearErrorWithoutThePassword checks the secrets
// on the path where a password is most likely to be printed.
func TestWrongSASLPasswordIsAClearErrorWithoutThePassword(t *testing.T) {
	t.Parallel()
	loc := bogota(t)
	fake := clock.NewAutoFake(scenarioStart(loc))
	w := newWorld(t, 1, wolkvoxsim.Config{Seed: 1, Clock: fake}, "12")
	const wrong = "not-the-password-Xy7"
	w.cfg.Kafka.SASLPassword = secret.New(wrong)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	_, err := w.run(ctx, w.setup(fake))
	if err == nil {
		t.Fatal("the service started with a wrong SASL password")
	}
	if !strings.Contains(strings.ToLower(err.Error()), "sasl") && !strings.Contains(strings.ToLower(err.Error()), "auth") {
		t.Errorf("error does not say it is about authentication: %v", err)
	}
	if strings.Contains(err.Error()+w.logs.String(), wrong) {
		t.Errorf("the wrong password leaked: %v", err)
	}
	w.assertNoSecrets(t)
}
