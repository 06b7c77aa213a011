package leader_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/leader"
)

// TestOneActiveAtATime runs three replicas and stops the active one, then
// the next: each time one standby takes over, and never are two active.
func TestOneActiveAtATime(t *testing.T) {
	c := newCluster(t)
	b := newBoard()
	members := map[string]*member{}
	for _, name := range []string{"a", "b", "c"} {
		members[name] = start(t, c, b, name)
	}
	var stopped []string
	for range 2 {
		active := b.waitActive(t, stopped...)
		members[active].stop(t)
		stopped = append(stopped, active)
	}
	last := b.waitActive(t, stopped...)
	members[last].stop(t)
	if b.most != 1 {
		t.Errorf("%d members were active at once; events %v", b.most, b.events)
	}
}

// TestTakeoverAfterLostSession cuts the active member off the network
// without leaving, as a frozen process or a split would: the standby takes
// over once the session times out, and the cut-off member has stood down
// on its own before that.
func TestTakeoverAfterLostSession(t *testing.T) {
	c := newCluster(t)
	b := newBoard()
	var observed []bool
	members := map[string]*member{
		"a": start(t, c, b, "a", func(cfg *leader.Config) { cfg.Observe = func(on bool) { observed = append(observed, on) } }),
	}
	if b.waitActive(t) != "a" {
		t.Fatal("the only member is not active")
	}
	members["b"] = start(t, c, b, "b")
	// b's join ends a's generation (a stands down) and makes a new one
	// in which a or b is active.
	active := b.waitActiveAfter(t, 3)
	standby := "b"
	if active == "b" {
		standby = "a"
	}
	members[active].freeze.freeze()
	if got := b.waitActive(t, active); got != standby {
		t.Fatalf("%s took over, want %s", got, standby)
	}
	b.mu.Lock()
	events := slices.Clone(b.events)
	b.mu.Unlock()
	if i, j := slices.Index(events[len(events)-2:], "-"+active), slices.Index(events[len(events)-2:], "+"+standby); i != 0 || j != 1 {
		t.Errorf("events %v: want the cut-off member %s to stand down before %s took over", events, active, standby)
	}
	if b.most != 1 {
		t.Errorf("%d members were active at once; events %v", b.most, events)
	}
	members[active].stop(t)
	members[standby].stop(t)
	if len(observed) < 2 || !observed[0] || observed[len(observed)-1] {
		t.Errorf("Observe calls %v: want true when a became active, false when it stood down", observed)
	}
}

// TestWorkErrorHandsOver: the active member's work fails; Run returns the
// error after leaving the group, and the standby takes over.
func TestWorkErrorHandsOver(t *testing.T) {
	c := newCluster(t)
	b := newBoard()
	failing := errors.New("state topic unreadable")
	e, err := leader.New(testConfig(c, &freezer{}))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- e.Run(context.Background(), func(context.Context) error {
			b.set("failing", true)
			b.set("failing", false)
			return failing
		})
	}()
	if err := <-done; !errors.Is(err, failing) {
		t.Fatalf("Run: %v, want the work's error", err)
	}
	start(t, c, b, "b")
	b.waitActive(t, "failing")
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		change func(*leader.Config)
		want   string
	}{
		{func(cfg *leader.Config) { cfg.Brokers = nil }, "KAFKA_BROKERS"},
		{func(cfg *leader.Config) { cfg.Topic = "" }, "KAFKA_STATE_TOPIC"},
		{func(cfg *leader.Config) { cfg.HeartbeatInterval = 2 * time.Second }, "LEADER_HEARTBEAT_INTERVAL"},
	} {
		cfg := leader.Config{Brokers: []string{"127.0.0.1:9092"}, Topic: topic, Group: "g", SessionTimeout: 3 * time.Second}
		tc.change(&cfg)
		_, err := leader.New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New: %v, want an error naming %s", err, tc.want)
		}
	}
}

// TestCleanLeaveHandsOverInOneRebalance: the stopping member leaves the
// group without joining it again first, so the standby becomes active in
// the very next generation, at its next heartbeat, rather than after a
// second rebalance.
func TestCleanLeaveHandsOverInOneRebalance(t *testing.T) {
	c := newCluster(t)
	b := newBoard()
	standbys := make(chan standbyLine, 2)
	logs := map[string]*generations{}
	members := map[string]*member{}
	for _, name := range []string{"a", "b"} {
		logs[name] = &generations{name: name, standby: standbys}
		members[name] = start(t, c, b, name, func(cfg *leader.Config) {
			log := zerolog.New(logs[name])
			cfg.Logger = &log
		})
	}
	// Once one member says it stands by, the other is the active one of
	// that same generation.
	var standby string
	var before int32
	select {
	case line := <-standbys:
		standby, before = line.member, line.generation
	case <-time.After(60 * time.Second): // a bound for a hung test, not a measure
		t.Fatal("no member stands by")
	}
	active := b.waitActive(t, standby)
	members[active].stop(t)
	b.waitActive(t, active)
	if after := logs[standby].last("now the active one"); after != before+1 {
		t.Errorf("the standby stood by in generation %d and became active in generation %d, want %d", before, after, before+1)
	}
}

// generations is a log writer that keeps the generation of each message,
// and tells when its member stands by.
type generations struct {
	name    string
	standby chan standbyLine
	mu      sync.Mutex
	lines   []struct {
		Message    string
		Generation int32
	}
}

type standbyLine struct {
	member     string
	generation int32
}

func (g *generations) Write(p []byte) (int, error) {
	var line struct {
		Message    string
		Generation int32
	}
	if err := json.Unmarshal(p, &line); err != nil {
		return 0, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lines = append(g.lines, line)
	if strings.HasPrefix(line.Message, "standing by: another replica") {
		select {
		case g.standby <- standbyLine{g.name, line.Generation}:
		default:
		}
	}
	return len(p), nil
}

// last returns the generation of the last message holding text, 0 if none.
func (g *generations) last(text string) int32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := len(g.lines) - 1; i >= 0; i-- {
		if strings.Contains(g.lines[i].Message, text) {
			return g.lines[i].Generation
		}
	}
	return 0
}

// A replica that joins leaves the active one active (its join only ends
// the generation), and so does a cut-off member that comes back: the
// member active in the latest generation keeps the activity.
func TestTheActiveMemberStaysActiveWhenOthersJoin(t *testing.T) {
	c := newCluster(t)
	b := newBoard()
	members := map[string]*member{"a": start(t, c, b, "a")}
	if b.waitActive(t) != "a" {
		t.Fatal("the only member is not active")
	}
	// Each join ends a's generation: a stands down and is made active
	// again ("+a", then "-a", "+a" per join).
	for i, name := range []string{"b", "c"} {
		members[name] = start(t, c, b, name)
		if got := b.waitActiveAfter(t, 3+2*i); got != "a" {
			t.Fatalf("%s became active when %s joined, want a to stay; events %v", got, name, b.events)
		}
	}
	members["a"].freeze.freeze()
	next := b.waitActive(t, "a")
	members["a"].freeze.thaw()
	b.mu.Lock()
	events := len(b.events)
	b.mu.Unlock()
	// a comes back and joins: its join ends next's generation, and next is
	// made active again.
	if got := b.waitActiveAfter(t, events+2); got != next {
		t.Fatalf("%s is active after a came back, want %s to stay; events %v", got, next, b.events)
	}
	for _, m := range members {
		m.stop(t)
	}
	if b.most != 1 {
		t.Errorf("%d members were active at once; events %v", b.most, b.events)
	}
}
