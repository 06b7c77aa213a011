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
	var mu sync.Mutex
	var requests [][]string // the keys of each produce request to the topic, in arrival order
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		var keys []string
		for _, tp := range req.(*kmsg.ProduceRequest).Topics {
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
		if len(keys) > 0 {
			mu.Lock()
			requests = append(requests, keys)
			mu.Unlock()
		}
		return nil, nil, false
	})
	p := newProducer(t, testConfig(c))
	events := window(0, 200)
	if err := p.Publish(context.Background(), schema.EventSlice(events), nil); err != nil {
		t.Fatal(err)
	}
	closedKey := events[len(events)-1].Key()
	mu.Lock()
	defer mu.Unlock()
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
	if got := storedCount(c, topic); got != int64(len(events)) {
		t.Errorf("stored %d records, want %d", got, len(events))
	}
}
