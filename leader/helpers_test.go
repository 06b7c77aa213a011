package leader_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/leader"
)

const topic = "wolkvox.skill6.test.state"

// newCluster starts an in-process Kafka with the one-partition topic, and
// session timeouts as short as the tests' allowed.
func newCluster(t testing.TB) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// board records which members are active, and the most that ever were at
// once.
type board struct {
	mu      sync.Mutex
	active  map[string]bool
	most    int
	changed chan struct{} // closed and replaced on every change
	events  []string      // "+a", "-a" in order
}

func newBoard() *board { return &board{active: map[string]bool{}, changed: make(chan struct{})} }

func (b *board) set(name string, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active[name] = on
	if !on {
		delete(b.active, name)
	}
	b.most = max(b.most, len(b.active))
	sign := "-"
	if on {
		sign = "+"
	}
	b.events = append(b.events, sign+name)
	close(b.changed)
	b.changed = make(chan struct{})
}

// waitActive waits until exactly one member other than the excluded ones
// is active and returns it.
func (b *board) waitActive(t testing.TB, exclude ...string) string {
	t.Helper()
	return b.waitActiveAfter(t, 0, exclude...)
}

// waitActiveAfter is waitActive once the board has recorded at least
// events changes.
func (b *board) waitActiveAfter(t testing.TB, events int, exclude ...string) string {
	t.Helper()
	deadline := time.After(60 * time.Second) // a bound for a hung test, not a measure
	for {
		b.mu.Lock()
		changed := b.changed
		var found []string
		for name := range b.active {
			found = append(found, name)
		}
		enough := len(b.events) >= events
		b.mu.Unlock()
		if enough && len(found) == 1 && !contains(exclude, found[0]) {
			return found[0]
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no single active member after 60 s; active: %v", found)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// member is one replica running leader.Run until stopped.
type member struct {
	name   string
	cancel context.CancelFunc
	done   chan error
	freeze *freezer
}

// testConfig has short timeouts, so that a lost session is noticed in
// seconds.
func testConfig(c *kfake.Cluster, f *freezer) leader.Config {
	return leader.Config{
		Brokers: c.ListenAddrs(), Topic: topic, Group: "skill6pub-0032",
		SessionTimeout: 3 * time.Second, HeartbeatInterval: 250 * time.Millisecond, RebalanceTimeout: 10 * time.Second,
		Dialer: &kafka.Dialer{ClientID: "skill6pub-test", Timeout: 10 * time.Second, DialFunc: f.dial},
	}
}

// start runs a member whose work holds the board until its context ends.
func start(t testing.TB, c *kfake.Cluster, b *board, name string, configure ...func(*leader.Config)) *member {
	t.Helper()
	m := &member{name: name, done: make(chan error, 1), freeze: &freezer{}}
	cfg := testConfig(c, m.freeze)
	for _, f := range configure {
		f(&cfg)
	}
	e, err := leader.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		m.done <- e.Run(ctx, func(ctx context.Context) error {
			b.set(name, true)
			<-ctx.Done()
			b.set(name, false)
			return nil
		})
	}()
	t.Cleanup(func() { m.stop(t) })
	return m
}

// stop ends the member as SIGTERM would, and waits for Run to return.
func (m *member) stop(t testing.TB) {
	t.Helper()
	m.freeze.thaw()
	m.cancel()
	if err := <-m.done; err != nil {
		t.Errorf("member %s: Run: %v", m.name, err)
	}
	m.done <- nil // a second stop returns at once
}

// freezer cuts a member off the network as a frozen process or a network
// split would: once frozen, what it writes is dropped and it can open no
// connection, so its requests time out and the coordinator hears nothing
// from it.
type freezer struct {
	mu     sync.Mutex
	frozen bool
}

func (f *freezer) set(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frozen = on
}

func (f *freezer) freeze() { f.set(true) }
func (f *freezer) thaw()   { f.set(false) }

func (f *freezer) isFrozen() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frozen
}

func (f *freezer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	if f.isFrozen() {
		return nil, errors.New("frozen: no network")
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &freezableConn{Conn: conn, f: f}, nil
}

type freezableConn struct {
	net.Conn
	f *freezer
}

func (c *freezableConn) Write(b []byte) (int, error) {
	if c.f.isFrozen() {
		return len(b), nil // lost on the way
	}
	return c.Conn.Write(b)
}
