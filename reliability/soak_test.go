package reliability

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

var (
	soak        = flag.Bool("soak", false, "run the soak test: a simulated month of windows with random faults (also SKILL6PUB_SOAK=1)")
	soakWindows = flag.Int("soak.windows", 8640, "windows the soak test publishes (8,640: thirty days of five-minute windows)")
	soakSeed    = flag.Uint64("soak.seed", 1, "seed of the soak test's faults")
)

// tally counts what the soak did, by name.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
}

func (t *tally) add(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[name]++
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.counts))
	for k := range t.counts {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "  %-44s %d\n", k, t.counts[k])
	}
	return b.String()
}

// soakBadRows spoils about one window in 30 with one to four bad rows.
func soakBadRows(skill string, start time.Time) []string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s %d", skill, start.Unix())
	n := h.Sum64()
	if n%30 != 0 {
		return nil
	}
	kinds := []string{
		`{"dnis":"bad-negative","inbound_calls":"-4","answer_calls":"1","abandon_calls":"0"}`,
		`{"dnis":"bad-nan","inbound_calls":"1","abandon":"NaN"}`,
		`{"dnis":"bad-huge","inbound_calls":"99999999999999999999"}`,
		`{"dnis":"bad-` + strings.Repeat("9", 10000) + `","inbound_calls":"1"}`,
		"{\"dnis\":\"bad-\xff\",\"inbound_calls\":\"1\"}",
		`{"dnis":"bad-types","inbound_calls":{"n":1}}`,
	}
	var rows []string
	for i := range 1 + (n/30)%4 {
		rows = append(rows, kinds[(n/7+i)%uint64(len(kinds))])
	}
	return rows
}

// TestSoak publishes a simulated month of five-minute windows for one skill
// (8,640 windows) on a fake clock, with random faults from both sides:
// wolkvox errors, hangs, malformed bodies and bad rows; produce requests
// that fail, time out after the append or stall, connection resets, leader
// moves across three brokers and full outages; and random restarts, half of
// them kills at a failpoint. The checker then reads the whole topic and the
// dead-letter topic back with franz-go. Off in the quick run:
//
//	go test ./reliability -run TestSoak -soak -v -timeout 60m
func TestSoak(t *testing.T) {
	if !*soak && os.Getenv("SKILL6PUB_SOAK") != "1" {
		t.Skip("the soak test runs with -soak (or SKILL6PUB_SOAK=1)")
	}
	began := time.Now()
	rng := rand.New(rand.NewPCG(*soakSeed, 0x50a4))
	loc := bogota(t)
	fake := clock.NewAutoFake(scenarioStart(loc))
	w := newWorld(t, 3, wolkvoxsim.Config{Seed: int64(*soakSeed), CallersPerWindow: 20, Population: 400, LateData: 30 * time.Second, Clock: fake}, "12")
	w.cfg.Schedule.ReviseWindows = 1
	w.cfg.Wolkvox.Timeout = 300 * time.Millisecond
	w.cfg.Kafka.WriteTimeout = 3 * time.Second
	w.upstream.SpoilRows(soakBadRows)
	topic := w.cfg.Kafka.Topic
	faults := &tally{counts: map[string]int{}}

	var mu sync.Mutex             // guards what follows, shared with the runs' callbacks
	committed := map[int64]bool{} // window starts, Unix seconds
	var first, last time.Time
	var kill string   // the failpoint the current run dies at, "" for none
	var killAfter int // passages through it before dying
	var graceful bool // stop the current run cleanly after this window
	var releaseStall func()
	publishFailures := 0

	upstreamFaults := []wolkvoxsim.Fault{
		wolkvoxsim.Fault500, wolkvoxsim.FaultBusy, wolkvoxsim.FaultMaintenance, wolkvoxsim.FaultQuota,
		wolkvoxsim.FaultUnauthorized, wolkvoxsim.FaultInvalidToken, wolkvoxsim.FaultHang, wolkvoxsim.FaultTruncated,
		wolkvoxsim.FaultWrongTypes, wolkvoxsim.FaultCodeAsString, wolkvoxsim.FaultDataNull, wolkvoxsim.FaultNotJSON,
	}
	injectKafka := func() {
		switch k := rng.IntN(100); {
		case k < 20:
			faults.add("kafka NOT_LEADER_FOR_PARTITION x2")
			w.kafka.FailProduce(topic, kerr.NotLeaderForPartition, 2)
		case k < 35:
			faults.add("kafka NOT_ENOUGH_REPLICAS x2")
			w.kafka.FailProduce(topic, kerr.NotEnoughReplicas, 2)
		case k < 50:
			faults.add("kafka REQUEST_TIMED_OUT after append")
			w.kafka.FailProduce(topic, kerr.RequestTimedOut, 1)
		case k < 60:
			faults.add("kafka NOT_ENOUGH_REPLICAS_AFTER_APPEND")
			w.kafka.FailProduce(topic, kerr.NotEnoughReplicasAfterAppend, 1)
		case k < 70:
			faults.add("kafka TOPIC_AUTHORIZATION_FAILED x3")
			w.kafka.FailProduce(topic, kerr.TopicAuthorizationFailed, 3)
		case k < 85:
			faults.add("kafka connections reset")
			w.kafka.ResetConnections()
		case k < 93:
			if releaseStall == nil {
				faults.add("kafka produce stalled past the write timeout")
				_, releaseStall = w.kafka.StallProduce()
			}
		case k < 97:
			faults.add("kafka leader moves (3 brokers)")
			if err := w.kafka.MoveLeaders(topic); err != nil {
				t.Error(err)
			}
		default:
			faults.add("kafka outage, back on the same ports")
			w.kafka.Outage()
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Hour)
	defer cancel()
	runs := 0
	for {
		mu.Lock()
		done := len(committed) >= *soakWindows
		mu.Unlock()
		if done || ctx.Err() != nil {
			break
		}
		runCtx, stop := context.WithCancel(ctx)
		s := w.setup(fake)
		s.Log = s.Log.Level(1) // info and above: a month of debug lines is too much to keep
		passages := 0
		s.Failpoint = func(point string) bool {
			mu.Lock()
			defer mu.Unlock()
			if point != kill {
				return false
			}
			passages++
			return passages == killAfter
		}
		s.PublishFailed = func(error) {
			mu.Lock()
			defer mu.Unlock()
			publishFailures++
			if w.kafka.Down() {
				w.kafka.Restart()
			}
			if releaseStall != nil {
				releaseStall()
				releaseStall = nil
			}
		}
		s.Committed = func(_ string, start time.Time) {
			mu.Lock()
			defer mu.Unlock()
			if len(committed) == 0 {
				first = start
			}
			committed[start.Unix()] = true
			if start.After(last) {
				last = start
			}
			if len(committed) >= *soakWindows {
				stop()
				return
			}
			switch p := rng.Float64(); {
			case p < 0.04:
				f := upstreamFaults[rng.IntN(len(upstreamFaults))]
				faults.add("wolkvox " + f.String())
				w.upstream.Sim.Inject(f, 1+rng.IntN(2))
			case p < 0.06:
				injectKafka()
			case p < 0.0625 && kill == "":
				kill = []string{PointFetch, PointAfterPublish, PointStateWrite}[rng.IntN(3)]
				killAfter = 1 + rng.IntN(2)
				faults.add("restart: kill at " + kill)
			case p < 0.065 && !graceful:
				graceful = true
				faults.add("restart: graceful stop")
				stop()
			}
		}
		res, err := w.run(runCtx, s)
		stop()
		runs++
		mu.Lock()
		if res.Killed {
			kill = ""
		} else if graceful {
			graceful = false
		} else if err != nil && ctx.Err() == nil {
			mu.Unlock()
			t.Fatalf("run %d: %v", runs, err)
		}
		if releaseStall != nil {
			releaseStall()
			releaseStall = nil
		}
		mu.Unlock()
		w.kafka.Restart() // a run killed during an outage left it down
	}
	if ctx.Err() != nil {
		t.Fatalf("the soak did not finish in time: %d windows", len(committed))
	}
	elapsed := time.Since(began)

	c := w.checker(t)
	problems := c.Check(Expect{Skills: []string{"12"}, Calendar: w.calendar(), First: first, Last: last, BadRow: isBadRow})
	if len(problems) > 0 {
		t.Errorf("%d broken promises:\n%s", len(problems), strings.Join(problems[:min(len(problems), 50)], "\n"))
	}
	if got := c.Tallies().Windows; got < *soakWindows {
		t.Errorf("%d windows on the topic, want %d", got, *soakWindows)
	}
	w.assertNoSecrets(t)
	for i, h := range w.kafka.Faults() {
		if h.Hits() == 0 {
			t.Logf("kafka fault %d never bit (installed shortly before the end, or during an outage)", i)
		}
	}
	stats := w.upstream.Sim.Stats()
	t.Logf("soak: seed %d, %d windows committed from %s to %s (simulated), %d runs, %d failed publishes, %d kafka outages, %s real\n%s\nfaults injected and restarts:\n%s\nwolkvox answers by status: %v\nwolkvox fault answers served: %v",
		*soakSeed, len(committed), first.Format(time.RFC3339), last.Format(time.RFC3339), runs, publishFailures,
		w.kafka.Outages(), elapsed.Round(time.Second), c.Tallies(), faults, stats.ByStatus, stats.Faults)
}
