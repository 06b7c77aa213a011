package kafkastore_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/state/kafkastore"
)

const topic = "wolkvox.skill6.test.state"

var (
	liveKey = state.Key{Operation: "0032", SkillID: "3"}
	start   = time.Date(2026, 3, 2, 8, 0, 0, 0, time.FixedZone("COT", -5*3600))
)

// newCluster starts an in-process Kafka on 127.0.0.1, closed when the test
// ends.
func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testConfig(c *kfake.Cluster, instance string) kafkastore.Config {
	return kafkastore.Config{
		Topic: topic, Instance: instance, Brokers: c.ListenAddrs(),
		CreateTopic: true, ReplicationFactor: 1,
		RequestTimeout: 10 * time.Second, SaveTimeout: 30 * time.Second,
	}
}

// open opens a store, closed when the test ends.
func open(t testing.TB, cfg kafkastore.Config) *kafkastore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := kafkastore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rows returns n realistic rows drawn from seed, sorted by DNIS as fetch
// returns them: DNIS of Colombian mobile numbers, small call counts,
// percentages with two decimals, 5% of them null (as state's benchmarks).
func rows(n int, seed uint64) []fetch.Row {
	rng := rand.New(rand.NewPCG(seed, 7))
	pct := func() schema.NullFloat {
		if rng.IntN(20) == 0 {
			return schema.NullFloat{}
		}
		return schema.FloatOf(float64(rng.IntN(10001)) / 100)
	}
	out := make([]fetch.Row, n)
	for i := range out {
		inbound := rng.Int64N(50) + 1
		answered := rng.Int64N(inbound + 1)
		out[i] = fetch.Row{
			DNIS: fmt.Sprintf("57%010d", int64(i)*90_000+rng.Int64N(90_000)),
			Metrics: schema.Metrics{
				InboundCalls: schema.IntOf(inbound), AnswerCalls: schema.IntOf(answered), AbandonCalls: schema.IntOf(inbound - answered),
				ServiceLevel10sPct: pct(), ServiceLevel20sPct: pct(), ServiceLevel30sPct: pct(),
				AbandonPct: pct(), ASASeconds: pct(), ATASeconds: pct(),
			},
		}
	}
	return out
}

// committed is a state whose last published window is the seq-th after
// start, with n rows.
func committed(seq, n int) state.State {
	ws := start.Add(time.Duration(seq) * 5 * time.Minute)
	return state.State{
		Key:       liveKey,
		Windows:   []snapshot.Snapshot{{WindowStart: ws, WindowEnd: ws.Add(5 * time.Minute), Rows: rows(n, uint64(seq))}},
		Published: []state.Span{{Start: start, End: ws.Add(5 * time.Minute)}},
	}
}

// withPending is s with the write-ahead record of the next window, its
// report drawn from seed: two replicas fetching the same window get
// different data, as a stand-in whose data changes on every fetch does.
func withPending(s state.State, n int, seed uint64) state.State {
	last, _ := s.Last()
	s.Pending = &state.Pending{
		WindowStart: last.WindowEnd, WindowEnd: last.WindowEnd.Add(5 * time.Minute),
		FetchedAt: last.WindowEnd.Add(5*time.Minute + time.Duration(seed)*time.Millisecond),
		Report:    fetch.Report{Rows: rows(n, seed)},
	}
	return s
}

// encoded is s in the state file format: two states are the same when
// their files are (times compare by instant and offset, not *time.Location).
func encoded(t testing.TB, s state.State) []byte {
	t.Helper()
	var enc state.Encoder
	var b bytes.Buffer
	if err := enc.Encode(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func assertSameState(t testing.TB, what string, got, want state.State) {
	t.Helper()
	if !bytes.Equal(encoded(t, got), encoded(t, want)) {
		t.Fatalf("%s: got a state with %d windows, pending %v; want %d windows, pending %v (their files differ)",
			what, len(got.Windows), got.Pending != nil, len(want.Windows), want.Pending != nil)
	}
}

// openSaved opens a store as instance "a" and saves a first state of
// liveKey through it.
func openSaved(t testing.TB, c *kfake.Cluster) (*kafkastore.Store, state.State) {
	t.Helper()
	a := open(t, testConfig(c, "a"))
	if _, _, err := a.Load(liveKey); err != nil {
		t.Fatal(err)
	}
	st := committed(0, 10)
	mustSave(t, a, st)
	return a, st
}

func mustLoad(t testing.TB, s *kafkastore.Store, key state.Key) state.State {
	t.Helper()
	got, found, err := s.Load(key)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no state for %+v", key)
	}
	return got
}

func mustSave(t testing.TB, s *kafkastore.Store, st state.State) {
	t.Helper()
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
}

func catchUp(t testing.TB, s *kafkastore.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
}

// readTopic reads every record of the state topic with franz-go, a second
// client: what is really stored.
func readTopic(t testing.TB, c *kfake.Cluster) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, ok := ends.Lookup(topic, 0)
	if !ok || end.Err != nil {
		t.Fatalf("end offset of %s: %v", topic, end.Err)
	}
	var out []*kgo.Record
	for end.Offset > 0 && (len(out) == 0 || out[len(out)-1].Offset+1 < end.Offset) {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// produce writes records with franz-go, as another (older, broken or dead)
// writer would have left them.
func produce(t testing.TB, c *kfake.Cluster, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// compactedSaves compacts the topic as the broker's log cleaner would and
// returns how many saves of liveKey still have records. The cleaner leaves
// the active segment alone (kfake: the last batch), so a save of another
// key through s first pushes the last tombstones out of it. Tombstones
// themselves stay for delete.retention.ms (a day by default): what matters
// is that nothing else of a removed save does.
func compactedSaves(t testing.TB, c *kfake.Cluster, s *kafkastore.Store) int {
	t.Helper()
	other := committed(0, 1)
	other.Key.SkillID = "other"
	if _, _, err := s.Load(other.Key); err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, other)
	c.Compact()
	saves := map[string]bool{}
	for _, r := range readTopic(t, c) {
		if r.Value != nil && strings.HasPrefix(string(r.Key), "0032/3#") {
			saves[strings.Split(string(r.Key), "#")[1]] = true
		}
	}
	return len(saves)
}
