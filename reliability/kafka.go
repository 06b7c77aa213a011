package reliability

import (
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/skill6pub/skill6pub/internal/kfaketest"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/skill6pub/skill6pub/internal/resetnet"
)

// SASL credentials of the in-process Kafka: every fault run authenticates,
// so that the secrets check has a password to look for.
const (
	SASLMechanism = "SCRAM-SHA-512"
	SASLUser      = "skill6pub"
	SASLPassword  = "sasl-secret-Zq8Rk2"
)

// Kafka is an in-process Kafka (kfake) on fixed loopback ports whose data
// survives an outage: Outage closes it, Restart brings it back on the same
// ports with the same records. Its faults are the ones
// ../shared/RELIABILITY.md lists: failed, timed out, delayed and dropped
// produce requests, connection resets, leader moves and outages.
type Kafka struct {
	t       testing.TB
	brokers int
	dir     string
	opts    []kfake.Opt

	mu        sync.Mutex
	cluster   *kfake.Cluster
	ports     []int
	listeners []*resetnet.Listener
	outages   int
	faults    []*kfake.FaultHandle
}

// NewKafka starts a cluster of n brokers with SASL and the given topics
// (partitions each); it is closed when the test ends.
func NewKafka(t testing.TB, n int, partitions int32, topics ...string) *Kafka {
	t.Helper()
	k := &Kafka{t: t, brokers: n, dir: t.TempDir(), opts: []kfake.Opt{
		kfake.NumBrokers(n),
		kfake.EnableSASL(),
		kfake.Superuser(SASLMechanism, SASLUser, SASLPassword),
		kfake.SeedTopics(partitions, topics...),
	}}
	k.start()
	t.Cleanup(func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.cluster != nil {
			k.cluster.Close()
		}
	})
	return k
}

func (k *Kafka) start() {
	k.t.Helper()
	opts := append([]kfake.Opt{kfake.DataDir(k.dir), kfake.ListenFn(k.listen)}, k.opts...)
	if k.ports != nil {
		opts = append(opts, kfake.Ports(k.ports...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		k.t.Fatalf("kafka: %v", err)
	}
	k.cluster = c
	if k.ports == nil {
		for _, addr := range c.ListenAddrs() {
			_, port, _ := net.SplitHostPort(addr)
			p, _ := strconv.Atoi(port)
			k.ports = append(k.ports, p)
		}
	}
}

func (k *Kafka) listen(network, address string) (net.Listener, error) {
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	rl := resetnet.Wrap(l)
	k.listeners = append(k.listeners, rl) // under k.mu: start runs locked or before sharing
	return rl, nil
}

// Cluster returns the running cluster (nil during an outage).
func (k *Kafka) Cluster() *kfake.Cluster {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cluster
}

// Addrs returns the brokers' host:port list; it stays the same across
// outages.
func (k *Kafka) Addrs() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, p := range k.ports {
		out = append(out, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	}
	return out
}

// Outage stops every broker; records already stored are kept on disk.
func (k *Kafka) Outage() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cluster == nil {
		return
	}
	k.cluster.Close()
	k.cluster, k.listeners = nil, nil
	k.outages++
}

// Restart brings the brokers back on the same ports with their records.
func (k *Kafka) Restart() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cluster == nil {
		k.start()
	}
}

// Down reports whether an outage is in progress.
func (k *Kafka) Down() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cluster == nil
}

// ResetConnections closes every connection the brokers accepted, as a load
// balancer or a broker restart does.
func (k *Kafka) ResetConnections() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, l := range k.listeners {
		l.CloseAll()
	}
}

// FailProduce fails the next count produce requests (-1: until the handle
// is removed) with err. With kerr.RequestTimedOut or
// kerr.NotEnoughReplicasAfterAppend the records are stored all the same:
// the acknowledgement is what is lost, and the producer sends them again.
func (k *Kafka) FailProduce(topic string, err *kerr.Error, count int) *kfake.FaultHandle {
	c := k.Cluster()
	if c == nil {
		return nil
	}
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Err: err, Count: count})
	k.mu.Lock()
	k.faults = append(k.faults, h)
	k.mu.Unlock()
	return h
}

// Faults returns the faults FailProduce installed, so that a test can check
// that each one bit (FaultHandle.Hits).
func (k *Kafka) Faults() []*kfake.FaultHandle {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*kfake.FaultHandle(nil), k.faults...)
}

// StallProduce holds the next produce request until release is called
// (or the cluster closes); stalled is closed once one is held.
func (k *Kafka) StallProduce() (stalled <-chan struct{}, release func()) {
	return kfaketest.StallProduce(k.Cluster())
}

// MoveLeaders moves the leader of every partition of topic to the next
// broker (with three brokers, every partition changes leader).
func (k *Kafka) MoveLeaders(topic string) error {
	c := k.Cluster()
	if c == nil {
		return nil
	}
	for _, p := range c.PartitionInfos(topic) {
		if err := c.MoveTopicPartition(topic, p.Partition, (c.LeaderFor(topic, p.Partition)+1)%int32(k.brokers)); err != nil {
			return err
		}
	}
	return nil
}

// Outages returns how many outages there were.
func (k *Kafka) Outages() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.outages
}

// ClientOpts are the franz-go options that reach this cluster with its
// SASL user.
func (k *Kafka) ClientOpts() []kgo.Opt {
	return []kgo.Opt{kgo.SASL(scram.Auth{User: SASLUser, Pass: SASLPassword}.AsSha512Mechanism())}
}
