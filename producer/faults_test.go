package producer_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/skill6pub/skill6pub/internal/kfaketest"
	"github.com/skill6pub/skill6pub/internal/syncbuf"
	"github.com/skill6pub/skill6pub/metrics"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/internal/resetnet"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
)

// The fault cases of RELIABILITY.md. Each test says what the caller is told
// and checks what the broker stored (high watermarks, records read back with
// franz-go).

func produceFault(err *kerr.Error, count int) kfake.Fault {
	return kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Err: err, Count: count}
}

func publishError(t *testing.T, err error) *producer.PublishError {
	t.Helper()
	var pe *producer.PublishError
	if !errors.As(err, &pe) {
		t.Fatalf("publish returned %v (%T), want a *producer.PublishError", err, err)
	}
	return pe
}

// Case 1: produce fails for good. kafka-go retries the retriable error
// MaxAttempts times, then Publish reports every record, nothing is stored
// and the caller keeps its checkpoint.
func TestProduceFailingForGood(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	m := metrics.New(prometheus.NewRegistry())
	p := newProducer(t, testConfig(c), producer.WithMetrics(m))
	faults := c.Fault(produceFault(kerr.NotEnoughReplicas, -1))
	events := window(0, 30)

	err := p.Publish(context.Background(), schema.EventSlice(events), nil)
	pe := publishError(t, err)
	if len(pe.Failures) != len(events) || pe.Records != len(events) {
		t.Errorf("%d of %d records failed, want all %d", len(pe.Failures), pe.Records, len(events))
	}
	if !errors.Is(err, kafka.NotEnoughReplicas) || !strings.Contains(err.Error(), "31 of 31 records not acknowledged") {
		t.Errorf("error %q does not say how many failed and why", err)
	}
	if errors.Is(err, producer.ErrOutcomeUnknown) {
		t.Errorf("a refused write reported as outcome unknown: %v", err)
	}
	if n := storedCount(c, topic); n != 0 {
		t.Errorf("stored %d records, want 0", n)
	}
	if faults.Hits() < 10 {
		t.Errorf("kafka-go tried %d produce requests, want its 10 attempts at least", faults.Hits())
	}
	if got := testutil.ToFloat64(m.PublishErrors.WithLabelValues("7")); got != 1 {
		t.Errorf("publish errors counted: %v, want 1", got)
	}
}

// Case 2: retriable errors a few times, then success with exactly one copy
// of each record.
func TestRetriableErrorsThenSuccess(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	p := newProducer(t, testConfig(c))
	notLeader := c.Fault(produceFault(kerr.NotLeaderForPartition, 2))
	replicas := c.Fault(produceFault(kerr.NotEnoughReplicas, 2))
	events := window(0, 120)

	publish(t, p, events)
	got := readBack(t, c, topic)
	if len(got) != len(events) {
		t.Errorf("stored %d records, want %d", len(got), len(events))
	}
	if dups := checkAllStored(t, got, events); dups != 0 {
		t.Errorf("%d duplicates, want none: the broker refused before storing", dups)
	}
	checkKeyOrder(t, got, events)
	if notLeader.Hits() != 2 || replicas.Hits() != 2 {
		t.Errorf("faults answered %d and %d requests, want 2 each", notLeader.Hits(), replicas.Hits())
	}
}

// Case 3: the broker stores a batch but its answer is lost (it answers
// REQUEST_TIMED_OUT after appending): kafka-go sends the batch again, two
// copies with the same ids are stored, Publish succeeds.
func TestAckLostAfterAppendStoresTwoCopies(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	p := newProducer(t, testConfig(c))
	timedOut := c.Fault(produceFault(kerr.RequestTimedOut, 1))
	events := window(0, 60)

	publish(t, p, events)
	got := readBack(t, c, topic)
	dups := checkAllStored(t, got, events)
	if dups == 0 || len(got) != len(events)+dups {
		t.Errorf("stored %d records with %d duplicates, want the timed-out batch twice", len(got), dups)
	}
	checkKeyOrder(t, got, events)
	if timedOut.Hits() != 1 {
		t.Errorf("fault answered %d requests, want 1", timedOut.Hits())
	}
}

// Case 4: a non-retriable error (TOPIC_AUTHORIZATION_FAILED) fails at once
// with a clear error; the window stays pending, and the next tick's publish
// of the same window succeeds.
func TestNonRetriableErrorThenNextTick(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	p := newProducer(t, testConfig(c))
	denied := c.Fault(produceFault(kerr.TopicAuthorizationFailed, -1))
	events := window(0, 40)

	err := p.Publish(context.Background(), schema.EventSlice(events), nil)
	pe := publishError(t, err)
	if !errors.Is(err, kafka.TopicAuthorizationFailed) || !strings.Contains(err.Error(), "grant the Kafka principal WRITE") ||
		!strings.Contains(err.Error(), topic) {
		t.Errorf("error %q does not explain the authorization failure", err)
	}
	if len(pe.Failures) != len(events) {
		t.Errorf("%d failures, want %d", len(pe.Failures), len(events))
	}
	if n := storedCount(c, topic); n != 0 {
		t.Errorf("stored %d records, want 0", n)
	}
	hits := denied.Hits()
	if hits > partitions {
		t.Errorf("%d produce requests for a non-retriable error, want one per partition at most", hits)
	}

	denied.Remove()
	publish(t, p, events)
	got := readBack(t, c, topic)
	if dups := checkAllStored(t, got, events); dups != 0 || len(got) != len(events) {
		t.Errorf("stored %d records with %d duplicates, want %d once", len(got), dups, len(events))
	}
}

// Case 5: the broker goes down in the middle of a window and comes back,
// on the same port with its data, later. The publish in flight fails with
// an error that says the brokers are unreachable; once they are back, the
// same window and the next ones are delivered, in order.
func TestBrokerDownMidWindowThenBack(t *testing.T) {
	t.Parallel()
	eachChunking(t, testBrokerDownMidWindowThenBack)
}

func testBrokerDownMidWindowThenBack(t *testing.T, opts ...producer.Option) {
	dir := t.TempDir()
	c := newCluster(t, kfake.DataDir(dir))
	_, port, _ := net.SplitHostPort(c.ListenAddrs()[0])
	cfg := testConfig(c)
	p := newProducer(t, cfg, opts...)
	w0, w1, w2 := window(0, 300), window(1, 300), window(2, 300)
	publish(t, p, w0)

	stalled, _ := kfaketest.StallProduce(c)
	result := make(chan error, 1)
	go func() { result <- p.Publish(context.Background(), schema.EventSlice(w1), nil) }()
	<-stalled
	c.Close() // the broker dies while window 1 is in flight
	err := <-result
	pe := publishError(t, err)
	if !errors.Is(err, producer.ErrUnreachable) || !strings.Contains(err.Error(), "KAFKA_BROKERS="+cfg.Brokers[0]) {
		t.Errorf("error %q does not say the brokers are unreachable", err)
	}
	if len(pe.Failures) == 0 || pe.Records != len(w1) {
		t.Errorf("%d of %d records reported failed", len(pe.Failures), pe.Records)
	}

	portNumber, _ := strconv.Atoi(port)
	back := newCluster(t, kfake.DataDir(dir), kfake.Ports(portNumber))
	publish(t, p, w1) // the next tick re-sends the window
	publish(t, p, w2)
	got := readBack(t, back, topic)
	checkAllStored(t, got, w0, w1, w2)
	checkKeyOrder(t, got, w0, w1, w2)
}

// Case 6: a broker that stalls longer than the deadlines loses nothing.
func TestStalledBroker(t *testing.T) {
	t.Parallel()
	t.Run("past the request timeout, kafka-go sends again", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		cfg := testConfig(c)
		cfg.RequestTimeout = 300 * time.Millisecond
		p := newProducer(t, cfg)
		_, release := kfaketest.StallProduce(c)
		defer release()
		events := window(0, 50)

		publish(t, p, events)
		got := readBack(t, c, topic)
		if dups := checkAllStored(t, got, events); dups != 0 || len(got) != len(events) {
			t.Errorf("stored %d records with %d duplicates while the first request still waits, want %d once", len(got), dups, len(events))
		}
	})
	t.Run("past the window deadline, outcome unknown until re-sent", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		cfg := testConfig(c)
		cfg.WriteTimeout = 500 * time.Millisecond
		p := newProducer(t, cfg)
		stalled, release := kfaketest.StallProduce(c)
		events := window(0, 50)

		err := p.Publish(context.Background(), schema.EventSlice(events), nil)
		if !errors.Is(err, producer.ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("publish past its deadline returned %v, want outcome unknown", err)
		}
		<-stalled
		if pe := publishError(t, err); len(pe.Failures) != len(events) {
			t.Errorf("%d records reported unknown, want all %d", len(pe.Failures), len(events))
		}
		release()
		publish(t, p, events) // the caller did not checkpoint: it publishes again
		got := readBack(t, c, topic)
		checkAllStored(t, got, events)
		checkKeyOrder(t, got, events)
	})
}

// Case 7: connections closed by the far end between writes. kafka-go sends
// the next request on the dead connection, reads "unexpected EOF" and sends
// again on a new one; the caller sees success, with every record stored
// once. (A bare io.EOF, which kafka-go does not retry, is left to the
// service's own retry: TestServiceRetry.)
func TestConnectionsResetBetweenWrites(t *testing.T) {
	t.Parallel()
	var listener *resetnet.Listener
	c := newCluster(t, kfake.ListenFn(func(network, address string) (net.Listener, error) {
		l, err := net.Listen(network, address)
		listener = resetnet.Wrap(l)
		return listener, err
	}))
	var logs syncbuf.Buffer
	p := newProducer(t, testConfig(c), producer.WithLogger(zerolog.New(&logs).Level(zerolog.WarnLevel)))
	windows := [][]schema.Event{window(0, 40)}
	publish(t, p, windows[0])
	for i := 1; i <= 3; i++ {
		listener.CloseAll()
		windows = append(windows, window(i, 40))
		publish(t, p, windows[i])
	}
	got := readBack(t, c, topic)
	if dups := checkAllStored(t, got, windows...); dups != 0 {
		t.Errorf("%d duplicates: a request on a closed connection never reached the broker", dups)
	}
	checkKeyOrder(t, got, windows...)
	if logs.Len() != 0 {
		t.Errorf("connection resets reached the operator: %s", logs.String())
	}
}

// Case 8: partition leaders move between and during windows (3 brokers).
// kafka-go retries NOT_LEADER until its metadata refresh finds the new
// leader; the caller sees no error and nothing is logged above info.
func TestLeaderMoves(t *testing.T) {
	t.Parallel()
	eachChunking(t, testLeaderMoves)
}

func testLeaderMoves(t *testing.T, opts ...producer.Option) {
	c := newCluster(t, kfake.NumBrokers(3))
	var logs syncbuf.Buffer
	p := newProducer(t, testConfig(c), append(opts, producer.WithLogger(zerolog.New(&logs).Level(zerolog.WarnLevel)))...)
	moveAll := func() {
		for part := int32(0); part < partitions; part++ {
			if err := c.MoveTopicPartition(topic, part, (c.LeaderFor(topic, part)+1)%3); err != nil {
				t.Fatal(err)
			}
		}
	}
	windows := [][]schema.Event{window(0, 60)}
	publish(t, p, windows[0])
	moveAll()
	windows = append(windows, window(1, 60))
	publish(t, p, windows[1])

	// And once more while a window is in flight.
	stalled, release := kfaketest.StallProduce(c)
	windows = append(windows, window(2, 60))
	result := make(chan error, 1)
	go func() { result <- p.Publish(context.Background(), schema.EventSlice(windows[2]), nil) }()
	<-stalled
	moveAll()
	release()
	if err := <-result; err != nil {
		t.Fatalf("publish across a leader move: %v", err)
	}
	got := readBack(t, c, topic)
	checkAllStored(t, got, windows...)
	checkKeyOrder(t, got, windows...)
	if logs.Len() != 0 {
		t.Errorf("leader moves reached the operator: %s", logs.String())
	}
}

// Case 10: shutdown in the middle of a publish.
func TestShutdownMidPublish(t *testing.T) {
	t.Parallel()
	t.Run("flushes what is in flight", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		p := newProducer(t, testConfig(c))
		stalled, release := kfaketest.StallProduce(c)
		events := window(0, 80)
		published := make(chan error, 1)
		go func() { published <- p.Publish(context.Background(), schema.EventSlice(events), nil) }()
		<-stalled

		closing := make(chan struct{})
		closed := make(chan error, 1)
		go func() {
			close(closing)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			closed <- p.Close(ctx)
		}()
		<-closing
		release()
		if err := <-closed; err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-published; err != nil {
			t.Errorf("publish flushed by close: %v", err)
		}
		if got := readBack(t, c, topic); len(got) != len(events) {
			t.Errorf("stored %d records, want %d", len(got), len(events))
		}
		if err := p.Publish(context.Background(), schema.EventSlice(events), nil); !errors.Is(err, producer.ErrClosed) {
			t.Errorf("publish after close: %v, want ErrClosed", err)
		}
	})
	t.Run("broker down: ends by its deadline, nothing acknowledged", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		cfg := testConfig(c)
		cfg.WriteTimeout = time.Second
		p := newProducer(t, cfg)
		stalled, _ := kfaketest.StallProduce(c)
		published := make(chan error, 1)
		go func() { published <- p.Publish(context.Background(), schema.EventSlice(window(0, 80)), nil) }()
		<-stalled
		c.Close()

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("close with the broker down: %v, want the deadline", err)
		}
		if err := <-published; err == nil {
			t.Error("publish reported success with the broker down")
		} else if !errors.Is(err, producer.ErrOutcomeUnknown) && !errors.Is(err, producer.ErrUnreachable) {
			t.Errorf("publish with the broker down: %v", err)
		}
	})
}

// leaderlessMetadata answers the next metadata request as a cluster in the
// middle of a leader election: every partition of the requested topics
// without a leader. kafka-go keeps that answer in its cache and fails writes
// to those partitions at once, without retrying.
func leaderlessMetadata(c *kfake.Cluster) {
	host, port, _ := net.SplitHostPort(c.ListenAddrs()[0])
	portNumber, _ := strconv.Atoi(port)
	c.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
		mreq := req.(*kmsg.MetadataRequest)
		resp := mreq.ResponseKind().(*kmsg.MetadataResponse)
		broker := kmsg.NewMetadataResponseBroker()
		broker.NodeID, broker.Host, broker.Port = 0, host, int32(portNumber)
		resp.Brokers = []kmsg.MetadataResponseBroker{broker}
		for _, rt := range mreq.Topics {
			t := kmsg.NewMetadataResponseTopic()
			t.Topic = rt.Topic
			for i := range int32(partitions) {
				p := kmsg.NewMetadataResponseTopicPartition()
				p.Partition, p.Leader, p.ErrorCode = i, -1, kerr.LeaderNotAvailable.Code
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil, true
	})
}

// The service's own retry covers what kafka-go gives up on at once: a topic
// or a partition without a leader in its metadata cache. The retry waits on
// the injected clock, then drops kafka-go's cached metadata so that the
// next attempt sees the new leaders.
func TestServiceRetry(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]func(c *kfake.Cluster){
		"topic without leader": func(c *kfake.Cluster) {
			c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Topic: topic, Err: kerr.LeaderNotAvailable})
		},
		"partitions without leader": leaderlessMetadata,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t)
			fault(c)
			fake := clock.NewFake(windowStart)
			p := newProducer(t, testConfig(c), producer.WithClock(fake))
			events := window(0, 30)
			result := make(chan error, 1)
			go func() { result <- p.Publish(context.Background(), schema.EventSlice(events), nil) }()

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := fake.WaitForSleepers(ctx, 1); err != nil {
				t.Fatalf("publish did not wait to retry: %v", err)
			}
			if wake, _ := fake.NextWake(); wake.Sub(windowStart) != 500*time.Millisecond {
				t.Errorf("first retry in %v, want 500ms", wake.Sub(windowStart))
			}
			fake.Advance(500 * time.Millisecond)
			if err := <-result; err != nil {
				t.Fatalf("publish after the retry: %v", err)
			}
			got := readBack(t, c, topic)
			if dups := checkAllStored(t, got, events); dups != 0 || len(got) != len(events) {
				t.Errorf("stored %d records with %d duplicates, want %d once", len(got), dups, len(events))
			}
		})
	}
}
