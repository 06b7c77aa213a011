package producer_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
)

const (
	topic      = "wolkvox.skill6.test"
	dlqTopic   = topic + ".dlq"
	tableTopic = topic + ".table"
	partitions = 6
)

// newCluster starts an in-process Kafka on 127.0.0.1 with both topics, and
// closes it when the test ends.
func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	return newBareCluster(t, append([]kfake.Opt{kfake.SeedTopics(partitions, topic, dlqTopic, tableTopic)}, opts...)...)
}

// newBareCluster starts an in-process Kafka without topics.
func newBareCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testConfig(c *kfake.Cluster) producer.Config {
	return producer.Config{
		Brokers:          c.ListenAddrs(),
		Topic:            topic,
		ClientID:         "skill6pub-test",
		Compression:      "none",
		WriteTimeout:     30 * time.Second,
		RequestTimeout:   10 * time.Second,
		BatchBytes:       1 << 20,
		TopicPartitions:  partitions,
		TopicReplication: 1,
	}
}

// newProducer builds a producer whose own retries wait on a fake clock that
// moves at once, and closes it before the cluster stops.
func newProducer(t testing.TB, cfg producer.Config, opts ...producer.Option) *producer.Producer {
	t.Helper()
	opts = append([]producer.Option{producer.WithClock(clock.NewAutoFake(time.Unix(0, 0)))}, opts...)
	p, err := producer.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

var windowStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("COT", -5*3600))

// window returns n dnis_window events and the window_closed of the window
// that starts seq intervals after windowStart. Event ids depend on the
// window and the DNIS only, as the real ids do.
func window(seq, n int) []schema.Event {
	start := windowStart.Add(time.Duration(seq) * 5 * time.Minute)
	env := func(eventType, id string) schema.Envelope {
		return schema.Envelope{
			EventID: fmt.Sprintf("%s-w%d-%s", eventType, seq, id), EventType: eventType,
			SchemaVersion: schema.Version, Operation: "0032", SkillID: "7",
			WindowStart: start, WindowEnd: start.Add(5 * time.Minute), FetchedAt: schema.MilliOf(start.Add(7 * time.Minute)),
			Producer: schema.Producer{Name: "skill6pub", Version: "test"},
		}
	}
	events := make([]schema.Event, 0, n+1)
	for i := range n {
		dnis := fmt.Sprintf("5730012%05d", i)
		metrics := schema.Metrics{
			InboundCalls: schema.IntOf(int64(i%7 + 1)), AnswerCalls: schema.IntOf(int64(i % 7)), AbandonCalls: schema.IntOf(1),
			ServiceLevel10sPct: schema.FloatOf(61.25), ServiceLevel20sPct: schema.FloatOf(87.5), ServiceLevel30sPct: schema.FloatOf(93.75),
			AbandonPct: schema.FloatOf(12.5), ASASeconds: schema.FloatOf(12), ATASeconds: schema.FloatOf(41),
		}
		previous, delta := metrics, schema.Metrics{InboundCalls: schema.IntOf(0), AnswerCalls: schema.IntOf(0)}
		events = append(events, &schema.DNISWindow{
			Envelope: env(schema.TypeDNISWindow, dnis), DNIS: dnis, Change: schema.ChangeChanged,
			Metrics: metrics, PreviousWindowKnown: true, Previous: &previous, Delta: &delta,
		})
	}
	events = append(events, &schema.WindowClosed{Envelope: env(schema.TypeWindowClosed, "closed"), RowCount: n})
	return events
}

// record is one record as franz-go read it back.
type record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     string
	Headers   map[string]string
	Codec     uint8
	Timestamp time.Time
	// Tombstone is true for a record whose value is null, not empty.
	Tombstone bool
}

func (r record) id() string { return r.Headers["ce_id"] }

// readBack reads every record of topic with franz-go, a second Kafka
// implementation, and checks that their number is what the partitions' high
// watermarks say is stored. Records come sorted by partition and offset.
func readBack(t testing.TB, c *kfake.Cluster, topic string, opts ...kgo.Opt) []record {
	t.Helper()
	stored := storedCount(c, topic)
	if stored == 0 {
		return nil
	}
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(c.ListenAddrs()...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []record
	for int64(len(got)) < stored {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: %d of %d records: %v", topic, len(got), stored, err)
		}
		fetches.EachError(func(_ string, _ int32, err error) { t.Fatalf("read %s: %v", topic, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			h := map[string]string{}
			for _, kv := range r.Headers {
				h[kv.Key] = string(kv.Value)
			}
			got = append(got, record{r.Topic, r.Partition, r.Offset, string(r.Key), string(r.Value), h, r.Attrs.CompressionType(), r.Timestamp, r.Value == nil})
		})
	}
	if int64(len(got)) != stored {
		t.Fatalf("read %d records of %s, high watermarks say %d", len(got), topic, stored)
	}
	sort.Slice(got, func(i, j int) bool {
		if got[i].Partition != got[j].Partition {
			return got[i].Partition < got[j].Partition
		}
		return got[i].Offset < got[j].Offset
	})
	return got
}

// storedCount sums the high watermarks of topic's partitions.
func storedCount(c *kfake.Cluster, topic string) int64 {
	var n int64
	for _, p := range c.PartitionInfos(topic) {
		n += p.HighWatermark
	}
	return n
}

// ids returns the event ids in publish order.
func ids(events []schema.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Head().EventID
	}
	return out
}

// checkAllStored fails unless every id of want is among the records, and
// says how many records are copies of another.
func checkAllStored(t testing.TB, got []record, want ...[]schema.Event) (duplicates int) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range got {
		seen[r.id()]++
	}
	for _, events := range want {
		for _, id := range ids(events) {
			if seen[id] == 0 {
				t.Errorf("event %s is not stored", id)
			}
		}
	}
	for _, n := range seen {
		duplicates += n - 1
	}
	return duplicates
}

// checkKeyOrder fails unless, for each key, the last copy of each event
// appears in the order the events were published.
func checkKeyOrder(t testing.TB, got []record, published ...[]schema.Event) {
	t.Helper()
	rank := map[string]int{}
	for _, events := range published {
		for _, id := range ids(events) {
			rank[id] = len(rank)
		}
	}
	last := map[string]record{} // by id: its last copy
	for _, r := range got {
		last[r.id()] = r
	}
	byKey := map[string][]record{}
	for _, r := range last {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	for key, rs := range byKey {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Offset < rs[j].Offset })
		for i := 1; i < len(rs); i++ {
			if rs[i-1].Partition != rs[i].Partition {
				t.Errorf("key %s is in partitions %d and %d", key, rs[i-1].Partition, rs[i].Partition)
			}
			if rank[rs[i-1].id()] > rank[rs[i].id()] {
				t.Errorf("key %s: %s stored after %s", key, rs[i-1].id(), rs[i].id())
			}
		}
	}
}

func publish(t testing.TB, p *producer.Producer, events []schema.Event, deadLetters ...schema.DeadLetter) {
	t.Helper()
	if err := p.Publish(context.Background(), schema.EventSlice(events), deadLetters); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// checkRecordsAreTheirEvents fails unless every record is one of the events
// of windows, byte for byte what schema.Encode makes of it: key, value and
// headers.
func checkRecordsAreTheirEvents(t testing.TB, got []record, windows ...[]schema.Event) {
	t.Helper()
	want := map[string]schema.Message{}
	for _, events := range windows {
		for _, e := range events {
			m, err := schema.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			want[e.Head().EventID] = m
		}
	}
	for _, r := range got {
		m, ok := want[r.id()]
		if !ok {
			t.Errorf("record %s@%d has an unknown id %q", r.Key, r.Offset, r.id())
			continue
		}
		if r.Key != string(m.Key) || r.Value != string(m.Value) {
			t.Errorf("record %s: key %q value %s, want key %q value %s", r.id(), r.Key, r.Value, m.Key, m.Value)
		}
		if len(r.Headers) != len(m.Headers) {
			t.Errorf("record %s: headers %v, want %d", r.id(), r.Headers, len(m.Headers))
		}
		for _, h := range m.Headers {
			if r.Headers[h.Key] != string(h.Value) {
				t.Errorf("record %s: header %s = %q, want %q", r.id(), h.Key, r.Headers[h.Key], h.Value)
			}
		}
	}
}
