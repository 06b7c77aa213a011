package producer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
)

// tableWindow is the window seq intervals after windowStart, with a row for
// each DNIS of population whose bit is set in members, its calls shaped by
// seq so that unchanged, changed, new and gone DNIS all occur.
func tableWindow(seq int, members uint32, population int) snapshot.Window {
	start := windowStart.Add(time.Duration(seq) * 5 * time.Minute)
	var rows []fetch.Row
	for i := range population {
		if members&(1<<i) == 0 {
			continue
		}
		inbound := int64(1 + (i*seq)%4)
		rows = append(rows, fetch.Row{DNIS: fmt.Sprintf("57300%07d", i), Metrics: schema.Metrics{
			InboundCalls: schema.IntOf(inbound), AnswerCalls: schema.IntOf(inbound), AbandonCalls: schema.IntOf(0),
			ServiceLevel20sPct: schema.FloatOf(float64(25 * (i % 5))), ASASeconds: schema.FloatOf(float64(seq + i)),
		}})
	}
	return snapshot.Window{
		Operation: "0032", SkillID: "7", Start: start, End: start.Add(5 * time.Minute),
		FetchedAt: start.Add(6 * time.Minute), Producer: schema.Producer{Name: "skill6pub", Version: "test"},
		Report: fetch.Report{Rows: rows},
	}
}

// foldTable reads the table topic with franz-go and folds it like a KTable:
// in each partition's order, the last value of each key, a null deleting it.
func foldTable(t *testing.T, got []record) map[string]record {
	t.Helper()
	table := map[string]record{}
	for _, r := range got { // sorted by partition and offset; a key has one partition
		if r.Tombstone {
			delete(table, r.Key)
			continue
		}
		table[r.Key] = r
	}
	return table
}

// The table topic, folded the way a KTable does, equals the last window of
// the skill after a run of windows with new, changed and gone DNIS and a
// revision of the last window.
func TestTableFoldsToTheLatestWindow(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c)
	cfg.BatchBytes = 8192
	p := newProducer(t, cfg, producer.WithChunkEvents(7)) // several chunks per window
	ctx := context.Background()

	const population = 24
	var prev *snapshot.Snapshot
	var last snapshot.Window
	for seq, members := range []uint32{0x00ffffff, 0x00f0f0f0, 0x000fff0f, 0x00aaaaaa} {
		last = tableWindow(seq, members, population)
		out := snapshot.Diff(prev, last)
		if err := p.Publish(ctx, out.Events, out.DeadLetters); err != nil {
			t.Fatal(err)
		}
		if err := p.PublishTable(ctx, out.Events); err != nil {
			t.Fatalf("table of window %d: %v", seq, err)
		}
		prev = &out.Snapshot
	}
	// The re-fetch of the last window: two DNIS gone, one new, one changed.
	revised := last
	revised.Report.Rows = nil
	for i, r := range last.Report.Rows {
		switch i {
		case 0, 5:
			continue
		case 3:
			r.Metrics.InboundCalls = schema.IntOf(r.Metrics.InboundCalls.Int + 10)
		}
		revised.Report.Rows = append(revised.Report.Rows, r)
	}
	revised.Report.Rows = append(revised.Report.Rows, fetch.Row{DNIS: "573009999999", Metrics: schema.Metrics{InboundCalls: schema.IntOf(1)}})
	revision, changed := snapshot.Revise(*prev, revised)
	if !changed {
		t.Fatal("the re-fetch is no revision")
	}
	if err := p.PublishTable(ctx, revision.Events); err != nil {
		t.Fatalf("table of the revision: %v", err)
	}

	got := readBack(t, c, tableTopic)
	table := foldTable(t, got)
	want := map[string]schema.Metrics{}
	for _, r := range revised.Report.Rows {
		want["0032:7:"+r.DNIS] = r.Metrics
	}
	for key, r := range table {
		if key == "0032:7" {
			continue
		}
		var e schema.DNISWindow
		if err := json.Unmarshal([]byte(r.Value), &e); err != nil {
			t.Fatalf("table value of %s: %v", key, err)
		}
		m, ok := want[key]
		switch {
		case !ok:
			t.Errorf("table keeps %s, not in the last window", key)
		case e.EventType != schema.TypeDNISWindow || e.Metrics != m || !e.WindowStart.Equal(last.Start):
			t.Errorf("table holds %s for %s, want the last window's dnis_window with %+v", r.Value, key, m)
		}
		if !r.Timestamp.Equal(e.WindowEnd) {
			t.Errorf("table record %s: timestamp %s, want window_end %s", key, r.Timestamp, e.WindowEnd)
		}
	}
	for key := range want {
		if _, ok := table[key]; !ok {
			t.Errorf("table lacks %s of the last window", key)
		}
	}
	closed := revision.Events.All()[revision.Events.Len()-1]
	m, err := schema.Encode(closed)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := table["0032:7"]; !ok || r.Value != string(m.Value) || !r.Timestamp.Equal(last.End) {
		t.Errorf("table holds %+v under the skill's key, want the revision's window_closed %s", r, m.Value)
	}
	if len(table) != len(want)+1 {
		t.Errorf("table has %d keys, want %d DNIS and the window_closed", len(table), len(want))
	}
	tombstones := 0
	for _, r := range got {
		if want := javaPartition(r.Key, partitions); r.Partition != want {
			t.Errorf("table key %q in partition %d, the Java client puts it in %d", r.Key, r.Partition, want)
		}
		if r.Tombstone {
			tombstones++
		}
	}
	if tombstones == 0 {
		t.Error("no tombstone in the table topic")
	}
}

// An event Publish diverts to the dead-letter topic leaves a tombstone in
// the table, and one whose key alone is too large leaves nothing.
func TestTableTombstonesWhatCannotBePublished(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c)
	cfg.BatchBytes = 8192
	p := newProducer(t, cfg)
	events := window(0, 6)
	nan := events[3].(*schema.DNISWindow)
	nan.Metrics.ASASeconds = schema.FloatOf(math.NaN())
	huge := events[4].(*schema.DNISWindow)
	huge.DNIS = strings.Repeat("9", 9000)
	if err := p.PublishTable(context.Background(), schema.EventSlice(events)); err != nil {
		t.Fatal(err)
	}
	got := readBack(t, c, tableTopic)
	if len(got) != len(events)-1 {
		t.Fatalf("table holds %d records, want %d (the huge key left out)", len(got), len(events)-1)
	}
	for _, r := range got {
		if (r.Key == nan.Key()) != r.Tombstone {
			t.Errorf("table record %s: tombstone %v", r.Key, r.Tombstone)
		}
	}
}
