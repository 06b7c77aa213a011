package producer_test

import (
	"context"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skill6pub/skill6pub/schema"
)

// TestWindowClosedIsSentAfterTheEventsAreAcknowledged checks that the
// window_closed of a window travels in a produce request of its own, after
// the requests carrying the window's DNIS events: events of one window sit
// on several partitions, and the watermark must not be stored before them.
func TestWindowClosedIsSentAfterTheEventsAreAcknowledged(t *testing.T) {
	c := newCluster(t)
	requests := recordProduceRequests(t, c)
	p := newProducer(t, testConfig(c))
	events := window(0, 200)
	if err := p.Publish(context.Background(), schema.EventSlice(events), nil); err != nil {
		t.Fatal(err)
	}
	closedKey := events[len(events)-1].Key()
	checkWatermarkLast(t, requests(), closedKey)
	if got := storedCount(c, topic); got != int64(len(events)) {
		t.Errorf("stored %d records, want %d", got, len(events))
	}
}

// checkWatermarkLast fails unless the last produce request carries only the
// window_closed (closedKey) and no earlier request carries it.
func checkWatermarkLast(t *testing.T, requests [][]string, closedKey string) {
	t.Helper()
	if len(requests) < 2 {
		t.Fatalf("%d produce requests, want the events and then the window_closed", len(requests))
	}
	last := requests[len(requests)-1]
	if len(last) != 1 || last[0] != closedKey {
		t.Errorf("last produce request holds %v, want only the window_closed (%s)", last, closedKey)
	}
	for i, keys := range requests[:len(requests)-1] {
		for _, k := range keys {
			if k == closedKey {
				t.Errorf("request %d carries the window_closed before the last request", i)
			}
		}
	}
}

// recordProduceRequests records the keys of each produce request to topic,
// in arrival order; the function returns them so far.
func recordProduceRequests(t *testing.T, c *kfake.Cluster) func() [][]string {
	var mu sync.Mutex
	var requests [][]string
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if keys := produceKeys(t, req.(*kmsg.ProduceRequest)); len(keys) > 0 {
			mu.Lock()
			requests = append(requests, keys)
			mu.Unlock()
		}
		return nil, nil, false
	})
	return func() [][]string {
		mu.Lock()
		defer mu.Unlock()
		return append([][]string(nil), requests...)
	}
}

// produceKeys returns the keys of the records req carries for topic.
func produceKeys(t *testing.T, req *kmsg.ProduceRequest) []string {
	var keys []string
	for _, tp := range req.Topics {
		if tp.Topic != topic {
			continue
		}
		for _, p := range tp.Partitions {
			var batch kmsg.RecordBatch
			if err := batch.ReadFrom(p.Records); err != nil {
				t.Errorf("decode record batch: %v", err)
				continue
			}
			records, err := kfake.BatchRecords(batch)
			if err != nil {
				t.Errorf("decode records: %v", err)
			}
			for _, r := range records {
				keys = append(keys, string(r.Key))
			}
		}
	}
	return keys
}
