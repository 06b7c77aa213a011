package window

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/state/kafkastore"
)

// timedPublisher notes when the publish starts and ends, and sends nothing.
type timedPublisher struct{ called, returned time.Time }

func (p *timedPublisher) Publish(context.Context, schema.Events, []schema.DeadLetter) error {
	p.called = time.Now()
	p.returned = time.Now()
	return nil
}

// benchRows returns n rows of distinct DNIS whose counts depend on seed.
func benchRows(n, seed int) []fetch.Row {
	rows := make([]fetch.Row, n)
	for i := range rows {
		calls := int64(1 + (i+seed)%7)
		rows[i] = fetch.Row{DNIS: fmt.Sprintf("5730%08d", i), Metrics: schema.Metrics{
			InboundCalls: schema.IntOf(calls), AnswerCalls: schema.IntOf(calls - 1), AbandonCalls: schema.IntOf(1),
			ServiceLevel20sPct: schema.FloatOf(float64(50 + (i+seed)%50)), ASASeconds: schema.FloatOf(float64(3 + i%40)),
		}}
	}
	return rows
}

// BenchmarkRecord measures what the record adds to one window, for each
// store: "before-publish" is the time from the start of the window's work
// (its fetch answered at once from memory) to its first record being sent,
// in which the write-ahead record is saved beside the diff; "commit" is
// the save after the acknowledgement. The memory store is the window's
// work without a record; dir is state.Dir on t.TempDir() (fsync
// included); kafka is the state topic on kfake (in-process, loopback).
//
//	go test ./window -run '^$' -bench Record -benchtime 20x -count 3
func BenchmarkRecord(b *testing.B) {
	loc := time.FixedZone("COT", -5*3600)
	start := time.Date(2026, 5, 4, 9, 0, 0, 0, loc)
	key := state.Key{Operation: "0032", SkillID: "12"}
	for _, n := range []int{1_000, 100_000} {
		prev := snapshot.Diff(nil, snapshot.Window{
			Operation: "0032", SkillID: "12", Start: start.Add(-5 * time.Minute), End: start, FetchedAt: start,
			Report: fetch.Report{Rows: benchRows(n, 0)},
		}).Snapshot
		for _, store := range []string{"memory", "dir", "kafka"} {
			b.Run(fmt.Sprintf("rows=%d/store=%s", n, store), func(b *testing.B) {
				var s Store
				switch store {
				case "memory":
					s = &memoryStore{}
				case "dir":
					d, err := state.OpenDir(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = d.Close() })
					s = d
				case "kafka":
					c, err := kfake.NewCluster(kfake.NumBrokers(1))
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(c.Close)
					k, err := kafkastore.Open(context.Background(), kafkastore.Config{
						Topic: "bench.state", Brokers: c.ListenAddrs(), CreateTopic: true, ReplicationFactor: 1,
					})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = k.Close() })
					s = k
				}
				pub := &timedPublisher{}
				fetcher := &countingFetcher{rows: benchRows(n, 1)}
				tx, err := New(Deps{
					Fetcher: fetcher, Publisher: pub, Store: s, Location: loc, Operation: "0032",
					Clock: clock.NewFake(start.Add(6 * time.Minute)), Logger: zerolog.Nop(), ShutdownGrace: time.Minute,
				})
				if err != nil {
					b.Fatal(err)
				}
				st := state.State{Key: key, Windows: []snapshot.Snapshot{prev}}
				if err := s.Save(st); err != nil {
					b.Fatal(err)
				}
				job := Job{Window: Window{Start: start, End: start.Add(5 * time.Minute)}, Base: &prev}
				var before, commit time.Duration
				b.ResetTimer()
				for b.Loop() {
					began := time.Now()
					if _, _, err := tx.Run(context.Background(), st, job); err != nil {
						b.Fatal(err)
					}
					ended := time.Now()
					before += pub.called.Sub(began)
					commit += ended.Sub(pub.returned)
				}
				b.ReportMetric(before.Seconds()*1000/float64(b.N), "ms-before-publish")
				b.ReportMetric(commit.Seconds()*1000/float64(b.N), "ms-commit")
			})
		}
	}
}
