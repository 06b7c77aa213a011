package producer_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
)

// slicedEvents is schema.Events that records the ranges asked for.
type slicedEvents struct {
	events []schema.Event
	mu     sync.Mutex
	ranges [][2]int
}

func (s *slicedEvents) Len() int { return len(s.events) }

func (s *slicedEvents) Slice(from, to int) []schema.Event {
	s.mu.Lock()
	s.ranges = append(s.ranges, [2]int{from, to})
	s.mu.Unlock()
	return s.events[from:to]
}

func (s *slicedEvents) asked() [][2]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ranges)
}

// A window larger than a chunk is taken a chunk at a time, a few chunks
// in flight at once, the events diverted to the
// dead-letter topic in any chunk, and the window_closed last: every event
// stored once, keys in order, metrics counted once.
func TestPublishInChunks(t *testing.T) {
	const chunk = 7
	c := newCluster(t)
	requests := recordProduceRequests(t, c)
	cfg := testConfig(c)
	cfg.BatchBytes = 8192
	m := metrics.New(prometheus.NewRegistry())
	p := newProducer(t, cfg, producer.WithChunkEvents(chunk), producer.WithMetrics(m))
	events := window(0, 50)
	events[9].(*schema.DNISWindow).DNIS = strings.Repeat("9", 9000) // oversized, second chunk
	events[30].(*schema.DNISWindow).Metrics.ASASeconds = schema.FloatOf(math.NaN())
	source := &slicedEvents{events: events}

	if err := p.Publish(context.Background(), source, nil); err != nil {
		t.Fatal(err)
	}

	var want [][2]int
	for from := 0; from < len(events); from += chunk {
		want = append(want, [2]int{from, min(from+chunk, len(events))})
	}
	if got := source.asked(); !slices.Equal(got, want) {
		t.Errorf("events asked for in ranges %v, want each chunk once, in order: %v", got, want)
	}
	chunkOf := map[string]int{}
	for i, e := range events {
		chunkOf[e.Key()] = i / chunk
	}
	sent := requests()
	for i, keys := range sent {
		chunks := map[int]bool{}
		for _, k := range keys {
			chunks[chunkOf[k]] = true
		}
		if len(chunks) > producer.ChunksInFlight {
			t.Errorf("produce request %d carries events of %d chunks, more than the %d sent at once", i, len(chunks), producer.ChunksInFlight)
		}
	}
	checkWatermarkLast(t, sent, events[len(events)-1].Key())

	stored := slices.Concat(events[:9], events[10:30], events[31:])
	got := readBack(t, c, topic)
	if dups := checkAllStored(t, got, stored); dups != 0 || len(got) != len(stored) {
		t.Errorf("stored %d records with %d duplicates, want %d once", len(got), dups, len(stored))
	}
	checkKeyOrder(t, got, stored)
	if dead := readBack(t, c, dlqTopic); len(dead) != 2 {
		t.Errorf("dead-letter topic holds %d records, want the 2 diverted events", len(dead))
	}
	for eventType, want := range map[string]float64{schema.TypeDNISWindow: 48, schema.TypeWindowClosed: 1} {
		if got := testutil.ToFloat64(m.Events.WithLabelValues("7", eventType)); got != want {
			t.Errorf("events_published_total{type=%s} = %v, want %v", eventType, got, want)
		}
	}
	for reason, want := range map[string]float64{"oversized": 1, "unencodable": 1} {
		if got := testutil.ToFloat64(m.DeadLetters.WithLabelValues("7", reason)); got != want {
			t.Errorf("dead_letters_total{reason=%s} = %v, want %v", reason, got, want)
		}
	}
}

// A chunk refused mid-window: the chunks before it stay stored, and the
// error lists, in order, the refused chunk's events and every event after
// it (the window_closed included) as not acknowledged.
func TestChunkRefusedMidWindow(t *testing.T) {
	const chunk = 10
	c := newCluster(t)
	events := window(0, 40)
	refused := map[string]bool{}
	for _, e := range events[2*chunk:] {
		refused[e.Key()] = true
	}
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		produce := req.(*kmsg.ProduceRequest)
		if !slices.ContainsFunc(produceKeys(t, produce), func(k string) bool { return refused[k] }) {
			return nil, nil, false
		}
		resp := produce.ResponseKind().(*kmsg.ProduceResponse)
		for _, tp := range produce.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic = tp.Topic
			for _, part := range tp.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = part.Partition
				rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	p := newProducer(t, testConfig(c), producer.WithChunkEvents(chunk))

	err := p.Publish(context.Background(), schema.EventSlice(events), nil)
	pe := publishError(t, err)
	// A chunk in flight beside the refused one can share its batches, and
	// fail with it: the failures are the refused chunk's events and those
	// after it, plus perhaps some of an earlier chunk, in window order.
	index := map[string]int{}
	for i, id := range ids(events) {
		index[id] = i
	}
	var failed []int
	for _, f := range pe.Failures {
		failed = append(failed, index[f.ID])
	}
	if !slices.IsSorted(failed) || len(failed) < len(events)-2*chunk || !slices.Equal(failed[len(failed)-(len(events)-2*chunk):], indexesFrom(2*chunk, len(events))) {
		t.Errorf("failures at %v, want every event from %d on, in window order", failed, 2*chunk)
	}
	if !errors.Is(err, kafka.TopicAuthorizationFailed) || !strings.Contains(err.Error(), fmt.Sprintf("%d of 41 records not acknowledged", len(failed))) ||
		!strings.Contains(err.Error(), "events before them were not acknowledged") {
		t.Errorf("error %q does not say what failed and what was not sent", err)
	}
	got := readBack(t, c, topic)
	stored := map[int]bool{}
	for _, r := range got {
		stored[index[r.id()]] = true
	}
	for i := range events {
		if stored[i] == slices.Contains(failed, i) {
			t.Errorf("event %d: stored %v, reported as failed %v; want exactly one", i, stored[i], !stored[i])
		}
	}
	if len(got) != len(stored) {
		t.Errorf("stored %d records for %d events: duplicates", len(got), len(stored))
	}
}

// indexesFrom returns from, from+1, ..., to-1.
func indexesFrom(from, to int) []int {
	out := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// Records are cut from shared buffers and header slabs, chunk after chunk,
// also by Publish calls running at once (backfill publishes its skills
// side by side): every record read back must be exactly what its event
// encodes to, key, value and headers.
func TestConcurrentPublishesKeepEveryRecordIntact(t *testing.T) {
	c := newCluster(t)
	p := newProducer(t, testConfig(c), producer.WithChunkEvents(5))
	var windows [][]schema.Event
	for seq := range 6 {
		windows = append(windows, window(seq, 23+seq))
	}
	for _, events := range windows[:2] {
		publish(t, p, events)
	}
	var wg sync.WaitGroup
	for _, events := range windows[2:] {
		wg.Go(func() {
			if err := p.Publish(context.Background(), schema.EventSlice(events), nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	got := readBack(t, c, topic)
	if dups := checkAllStored(t, got, windows...); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	checkRecordsAreTheirEvents(t, got, windows...)
}

// eachChunking runs a fault test with Publish's default chunks and with
// chunks of 7 events, so that its windows span many chunks, two in flight
// when the fault strikes.
func eachChunking(t *testing.T, test func(t *testing.T, opts ...producer.Option)) {
	t.Run("default chunks", func(t *testing.T) {
		t.Parallel()
		test(t)
	})
	t.Run("chunks of 7", func(t *testing.T) {
		t.Parallel()
		test(t, producer.WithChunkEvents(7))
	})
}
