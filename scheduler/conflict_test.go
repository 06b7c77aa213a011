package scheduler

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/state/kafkastore"
)

// changingFetcher answers every call with other data, as a wolkvox that
// keeps receiving late calls: two fetches of one window never agree.
type changingFetcher struct{ calls atomic.Int64 }

func (f *changingFetcher) Fetch(_ context.Context, skill string, start, _ time.Time) (fetch.Report, error) {
	return reportFor(skill, start, int(f.calls.Add(1))), nil
}

// heldStore is a state store whose first Load returns the state it holds
// then, and then waits for release: a process that read the record, then
// froze while another went on.
type heldStore struct {
	Store
	loaded  chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *heldStore) Load(key state.Key) (state.State, bool, error) {
	st, found, err := h.Store.Load(key)
	h.once.Do(func() {
		close(h.loaded)
		<-h.release
	})
	return st, found, err
}

// openStateTopic opens a state store on the state topic of c, as one
// process does.
func openStateTopic(t *testing.T, c *kfake.Cluster, instance string) *kafkastore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := kafkastore.Open(ctx, kafkastore.Config{
		Topic: "skill6.state", Instance: instance, Brokers: c.ListenAddrs(), CreateTopic: true, ReplicationFactor: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Two processes publish one window of one stream through one state topic,
// with a wolkvox whose data changes on every fetch; the second read the
// record before the first wrote the window's write-ahead record. Whoever
// saves the record first decides the window's content: the other never
// publishes its own fetch, and what it publishes (the winner's record) is
// byte for byte what the winner publishes.
func TestTheFirstWriteAheadRecordDecidesAcrossProcesses(t *testing.T) {
	for _, tc := range []struct {
		name string
		// committed: the first process has committed the window before the
		// second one saves; otherwise it is still publishing it.
		committed bool
	}{
		{"while the first is publishing", false},
		{"after the first committed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, first, second, held, fetcher := twoProcessesOnOneStateTopic(t)

			w1 := first.s.Calendar().WindowAt(fake.Now().Add(-time.Hour))
			w2 := Window{Start: w1.End, End: w1.End.Add(5 * time.Minute)}
			if err := first.s.Once(t.Context(), w1.Start); err != nil {
				t.Fatal(err)
			}
			if err := held.Store.(*kafkastore.Store).CatchUp(t.Context()); err != nil {
				t.Fatal(err)
			}

			// The second process reads the record (window 1 published),
			// then freezes.
			secondDone := make(chan error, 1)
			go func() { secondDone <- second.s.Once(t.Context(), w2.Start) }()
			<-held.loaded

			// The first saves window 2's record; it commits, or it is held
			// in its publish until the second has had its go.
			publishing := make(chan struct{})
			proceed := make(chan struct{})
			if !tc.committed {
				first.pub.before = func(ctx context.Context, p publication) error {
					if p.start.Equal(w2.Start) {
						close(publishing)
						<-proceed
					}
					return nil
				}
			}
			firstDone := make(chan error, 1)
			go func() { firstDone <- first.s.Once(t.Context(), w2.Start) }()
			if tc.committed {
				if err := <-firstDone; err != nil {
					t.Fatal(err)
				}
			} else {
				<-publishing
			}

			close(held.release)
			if err := <-secondDone; err != nil {
				t.Fatalf("the second process: %v\n%s", err, second.logs.String())
			}
			if !tc.committed {
				close(proceed)
				if err := <-firstDone; err != nil {
					t.Fatalf("the first process: %v\n%s", err, first.logs.String())
				}
			}

			winner := first.pub.of("3")
			if len(winner) != 2 || !winner[1].start.Equal(w2.Start) {
				t.Fatalf("the first process published %d windows, want windows 1 and 2", len(winner))
			}
			for _, p := range second.pub.of("3") {
				if !p.start.Equal(w2.Start) || p.records != winner[1].records {
					t.Errorf("the second process published window %s with other content than the record that came first:\n%s\nvs\n%s",
						p.start, p.records, winner[1].records)
				}
			}
			if !tc.committed && len(second.pub.of("3")) != 1 {
				t.Errorf("the second process published window 2 %d times, want once, from the first's record", len(second.pub.of("3")))
			}
			if tc.committed && len(second.pub.of("3")) != 0 {
				t.Errorf("the second process published a window committed by the first")
			}
			if got := fetcher.calls.Load(); got != 3 {
				t.Errorf("%d fetches, want 3 (window 1, and window 2 by each process)", got)
			}
			if msgs := second.logs.withMessage(t, "another process saved"); len(msgs) == 0 {
				t.Errorf("the second process does not say that it gave way:\n%s", second.logs.String())
			}
		})
	}
}

// twoProcessesOnOneStateTopic returns two schedulers of skill 3 on one
// state topic of an in-process broker, on one fake clock, fetching from
// one wolkvox whose data changes on every fetch; the second's store can be
// held after a load.
func twoProcessesOnOneStateTopic(t *testing.T) (*clock.Fake, *harness, *harness, *heldStore, *changingFetcher) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	fake := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	fetcher := &changingFetcher{}
	first := newHarness(t, testConfig("3"), fake, func(d *Deps) {
		d.Store, d.Fetcher = openStateTopic(t, cluster, "first"), fetcher
	})
	held := &heldStore{Store: openStateTopic(t, cluster, "second"), loaded: make(chan struct{}), release: make(chan struct{})}
	second := newHarness(t, testConfig("3"), fake, func(d *Deps) { d.Store, d.Fetcher = held, fetcher })
	return fake, first, second, held, fetcher
}

// The live loop of a process that read the record, then froze while
// another process published the next window: its own fetch of that window
// loses at the write-ahead save, and it is dropped for good, not committed
// again on the record loaded afterwards.
func TestTheLiveLoopDropsAFetchWhoseRecordLost(t *testing.T) {
	fake, first, second, held, fetcher := twoProcessesOnOneStateTopic(t)

	w2 := first.s.Calendar().LatestComplete(fake.Now())
	w1 := Window{Start: w2.Start.Add(-5 * time.Minute), End: w2.Start}
	if err := first.s.Once(t.Context(), w1.Start); err != nil {
		t.Fatal(err)
	}
	if err := held.Store.(*kafkastore.Store).CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	stop := second.run(t)
	<-held.loaded // the second process has read the record: window 1 published
	if err := first.s.Once(t.Context(), w2.Start); err != nil {
		t.Fatal(err)
	}
	close(held.release)
	// The second process fetches window 2, loses its save, and waits
	// before its next attempt; then it finds window 2 published.
	if err := fake.WaitForSleepers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	fake.Advance(10 * time.Second) // past the retry delay (2 s), before window 3 is due
	if err := fake.WaitForSleepers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := fetcher.calls.Load(); got != 3 {
		t.Fatalf("%d fetches, want 3 (window 1, and window 2 by each process)\n%s", got, second.logs.String())
	}
	theirs := first.pub.of("3")[1]
	for _, p := range second.pub.of("3") {
		if p.start.Equal(w2.Start) && p.records != theirs.records {
			t.Errorf("the second process published its own fetch of window 2 after its record lost:\n%s\nvs\n%s", p.records, theirs.records)
		}
	}
	if len(second.logs.withMessage(t, "another process saved")) == 0 {
		t.Errorf("the second process does not say that it gave way:\n%s", second.logs.String())
	}
}
