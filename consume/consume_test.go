package consume_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
)

const (
	topic      = "wolkvox.skill6.test"
	dlqTopic   = topic + ".dlq"
	partitions = 3
)

// testContext bounds a test's Kafka calls, so that a reader waiting for
// records that never come fails the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newCluster starts an in-process Kafka on 127.0.0.1 with both topics and
// returns its addresses; it stops when the test ends.
func newCluster(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic, dlqTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// sent is a record as produced, with the partition and offset Kafka gave it.
type sent struct {
	partition int32
	offset    int64
	msg       schema.Message
}

// produce writes each message to partition i % partitions of to, in order,
// and returns them with their offsets.
func produce(t *testing.T, brokers []string, to string, msgs ...schema.Message) []sent {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		r := &kgo.Record{Topic: to, Partition: int32(i % partitions), Key: m.Key, Value: m.Value}
		for _, h := range m.Headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		recs[i] = r
	}
	if err := cl.ProduceSync(testContext(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out := make([]sent, len(msgs))
	for i, r := range recs {
		out[i] = sent{r.Partition, r.Offset, msgs[i]}
	}
	return out
}

func encodeAll(t *testing.T, events []schema.Event) []schema.Message {
	t.Helper()
	msgs := make([]schema.Message, len(events))
	for i, e := range events {
		m, err := schema.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	return msgs
}

func newReader(t *testing.T, brokers []string) *consume.Reader {
	t.Helper()
	r, err := consume.NewReader(brokers, topic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func readToEnd(t *testing.T, r *consume.Reader) []consume.Record {
	t.Helper()
	var got []consume.Record
	if err := r.ReadToEnd(testContext(t), func(rec consume.Record) { got = append(got, rec) }); err != nil {
		t.Fatalf("ReadToEnd: %v", err)
	}
	return got
}

// checkRead checks that got holds exactly the records of want, each decoded
// and, within a partition, in offset order.
func checkRead(t *testing.T, got []consume.Record, want []sent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	byPlace := map[[2]int64]sent{}
	for _, s := range want {
		byPlace[[2]int64{int64(s.partition), s.offset}] = s
	}
	last := map[int32]int64{}
	for _, r := range got {
		if prev, ok := last[r.Partition]; ok && r.Offset <= prev {
			t.Errorf("partition %d: offset %d read after %d", r.Partition, r.Offset, prev)
		}
		last[r.Partition] = r.Offset
		s, ok := byPlace[[2]int64{int64(r.Partition), r.Offset}]
		if !ok {
			t.Errorf("read %d@%d, which was not produced", r.Partition, r.Offset)
			continue
		}
		if r.Key != string(s.msg.Key) || string(r.Value) != string(s.msg.Value) {
			t.Errorf("%d@%d: key %q value %s, want %q %s", r.Partition, r.Offset, r.Key, r.Value, s.msg.Key, s.msg.Value)
		}
		for _, h := range s.msg.Headers {
			if r.Headers[h.Key] != string(h.Value) {
				t.Errorf("%d@%d: header %s = %q, want %q", r.Partition, r.Offset, h.Key, r.Headers[h.Key], h.Value)
			}
		}
		if r.Event == nil || r.DeadLetter != nil {
			t.Errorf("%d@%d: Event %v, DeadLetter %v; want the event only", r.Partition, r.Offset, r.Event, r.DeadLetter)
			continue
		}
		if r.Event.Head().EventID != r.Headers["ce_id"] || r.Event.Key() != r.Key {
			t.Errorf("%d@%d: decoded event %s with key %q, want ce_id %s and key %q", r.Partition, r.Offset, r.Event.Head().EventID, r.Event.Key(), r.Headers["ce_id"], r.Key)
		}
	}
}

func TestReadToEnd(t *testing.T) {
	brokers := newCluster(t)
	first, second := twoWindows()
	want := produce(t, brokers, topic, encodeAll(t, first.Events.All())...)
	reader := newReader(t, brokers)
	checkRead(t, readToEnd(t, reader), want)

	// A second ReadToEnd goes on from where the first stopped, up to the
	// records produced since.
	more := produce(t, brokers, topic, encodeAll(t, second.Events.All())...)
	got := readToEnd(t, reader)
	checkRead(t, got, more)

	// What was read feeds a ledger as is.
	l := consume.NewLedger()
	addAll(l, got)
	if tl := l.Tally(keyOf(second)); tl == nil || !tl.Complete() {
		t.Errorf("tally of the window read back: %+v, want Complete", tl)
	}
}

func TestReadToEndEmptyTopic(t *testing.T) {
	reader := newReader(t, newCluster(t))
	if got := readToEnd(t, reader); len(got) != 0 {
		t.Errorf("read %d records from an empty topic", len(got))
	}
}

// Nothing on the topic may be undecodable: ReadToEnd stops with an error
// that names the record, and Poll returns the record undecoded with the
// error.
func TestUndecodableRecord(t *testing.T) {
	cases := []struct {
		name  string
		value string
		want  string
	}{
		{"not JSON", "not json", "not an event"},
		{"an unknown event type", `{"event_type":"dnis_weather","event_id":"x"}`, `unknown event_type "dnis_weather"`},
		{"a known type with a wrong field", `{"event_type":"dnis_window","revision":"first"}`, "decode dnis_window"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			brokers := newCluster(t)
			produce(t, brokers, topic, schema.Message{Key: []byte("k"), Value: []byte(c.value)})

			err := newReader(t, brokers).ReadToEnd(testContext(t), func(r consume.Record) {
				t.Errorf("record %d@%d handed to add", r.Partition, r.Offset)
			})
			if err == nil || !strings.Contains(err.Error(), "record "+topic+"[0]@0") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ReadToEnd error %v, want one naming %s[0]@0 and %q", err, topic, c.want)
			}

			recs, err := newReader(t, brokers).Poll(testContext(t))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Poll error %v, want %q", err, c.want)
			}
			if len(recs) != 1 || recs[0].Event != nil || string(recs[0].Value) != c.value {
				t.Fatalf("Poll records %+v, want the one record, undecoded", recs)
			}
			l := consume.NewLedger()
			l.Add(recs[0])
			wantProblem(t, l, "partition 0 offset 0", "neither an event nor a dead letter")
		})
	}
}

func TestPollStopsWithContext(t *testing.T) {
	reader := newReader(t, newCluster(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if recs, err := reader.Poll(ctx); !errors.Is(err, context.Canceled) || recs != nil {
		t.Errorf("Poll with a cancelled context = %v, %v; want nil, context.Canceled", recs, err)
	}
}

func TestDeadLetterReader(t *testing.T) {
	brokers := newCluster(t)
	w := window(0, row("A", calls(2, 2)))
	w.Report.Rejected = []fetch.RejectedRow{{Index: 3, Raw: []byte(`{"dnis":"B","inbound_calls":"x"}`), Reason: "inbound_calls: not a number"}}
	out := snapshot.Diff(nil, w)
	var msgs []schema.Message
	for _, d := range out.DeadLetters {
		m, err := schema.EncodeDeadLetter(d)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	produce(t, brokers, dlqTopic, msgs...)

	reader, err := consume.NewDeadLetterReader(brokers, dlqTopic)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var got []consume.Record
	if err := reader.ReadToEnd(testContext(t), func(r consume.Record) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].DeadLetter == nil || got[0].Event != nil {
		t.Fatalf("read %+v, want one dead letter", got)
	}
	d, want := got[0].DeadLetter, out.DeadLetters[0]
	if d.DeadLetterID != want.DeadLetterID || d.Source != schema.DeadLetterRow || d.RowIndex != schema.IntOf(3) ||
		d.Reason != want.Reason || string(d.Raw) != string(want.Raw) || !d.WindowStart.Equal(want.WindowStart) || d.Revision != 0 {
		t.Errorf("dead letter read back %+v, want %+v", d, want)
	}
	if got[0].Headers["reason"] != want.Reason {
		t.Errorf("reason header %q, want %q", got[0].Headers["reason"], want.Reason)
	}

	// An event is not a dead letter, nor is JSON without a dead letter's id
	// and source. Each is read on from where the last error stopped.
	event := encodeAll(t, out.Events.All()[:1])[0]
	for _, c := range []struct{ name, value string }{
		{"an event", string(event.Value)},
		{"no id", `{"source":"row","reason":"x"}`},
		{"an unknown source", `{"dead_letter_id":"d1","source":"elsewhere"}`},
		{"not JSON", `dead`},
	} {
		produce(t, brokers, dlqTopic, schema.Message{Value: []byte(c.value)})
		err = reader.ReadToEnd(testContext(t), func(consume.Record) {})
		if err == nil || !strings.Contains(err.Error(), "not a dead letter") {
			t.Errorf("ReadToEnd over %s on the dead-letter topic: %v, want \"not a dead letter\"", c.name, err)
		}
	}
}

// Decode gives back each event type exactly as it was encoded.
func TestDecodeRoundTrip(t *testing.T) {
	first, second := twoWindows()
	revision, _ := snapshot.Revise(second.Snapshot, window(1, row("A", calls(2, 2)), row("B", calls(4, 3))))
	var events []schema.Event
	for _, out := range []snapshot.Output{first, second, revision} {
		events = append(events, out.Events.All()...)
	}
	seen := map[string]bool{}
	for _, e := range events {
		m, err := schema.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := consume.Decode(m.Value)
		if err != nil {
			t.Fatalf("Decode(%s): %v", m.Value, err)
		}
		if reflect.TypeOf(got) != reflect.TypeOf(e) {
			t.Errorf("Decode(%s) is a %T, want %T", m.Value, got, e)
			continue
		}
		// Times come back with the same offset in an unnamed zone:
		// compare them as instants and as written.
		for i, pair := range timesOf(e, got) {
			if !pair[0].Equal(pair[1]) || pair[0].Format(time.RFC3339) != pair[1].Format(time.RFC3339) {
				t.Errorf("%s: time %d is %v, want %v", e.Head().EventID, i, pair[1], pair[0])
			}
		}
		if want, got := withoutTimes(e), withoutTimes(got); !reflect.DeepEqual(got, want) {
			t.Errorf("Decode(Encode(e)) = %+v, want %+v", got, want)
		}
		seen[e.Head().EventType] = true
		if c, ok := e.(*schema.DNISWindow); ok {
			seen[string(c.Change)] = true
		}
	}
	for _, k := range []string{schema.TypeDNISWindow, schema.TypeDNISGone, schema.TypeWindowClosed, "new", "changed", "unchanged", "revised"} {
		if !seen[k] {
			t.Errorf("no %s event among those round-tripped", k)
		}
	}
}

// timesOf pairs the times of a and b, events of the same type.
func timesOf(a, b schema.Event) [][2]time.Time {
	ha, hb := a.Head(), b.Head()
	pairs := [][2]time.Time{{ha.WindowStart, hb.WindowStart}, {ha.WindowEnd, hb.WindowEnd}, {ha.FetchedAt.Time, hb.FetchedAt.Time}}
	if ca, ok := a.(*schema.WindowClosed); ok {
		cb := b.(*schema.WindowClosed)
		if (ca.PreviousWindowStart == nil) != (cb.PreviousWindowStart == nil) {
			return append(pairs, [2]time.Time{{}, time.Unix(1, 0)}) // unequal on purpose
		}
		if ca.PreviousWindowStart != nil {
			pairs = append(pairs, [2]time.Time{*ca.PreviousWindowStart, *cb.PreviousWindowStart})
		}
	}
	return pairs
}

// withoutTimes returns a copy of e with its times zeroed, for
// reflect.DeepEqual: a decoded time's zone is another *time.Location.
func withoutTimes(e schema.Event) schema.Event {
	zeroTimes := func(h *schema.Envelope) {
		h.WindowStart, h.WindowEnd, h.FetchedAt = time.Time{}, time.Time{}, schema.MilliTime{}
	}
	switch e := e.(type) {
	case *schema.DNISWindow:
		c := *e
		zeroTimes(&c.Envelope)
		return &c
	case *schema.DNISGone:
		c := *e
		zeroTimes(&c.Envelope)
		return &c
	case *schema.WindowClosed:
		c := *e
		zeroTimes(&c.Envelope)
		c.PreviousWindowStart = nil
		return &c
	}
	panic("unknown event type")
}

func TestDecodeRejects(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{``, "not an event"},
		{`[1,2]`, "not an event"},
		{`{}`, `unknown event_type ""`},
		{`{"event_type":"dead_letter"}`, `unknown event_type "dead_letter"`},
		{`{"event_type":"window_closed","row_count":"many"}`, "decode window_closed"},
		{`{"event_type":"dnis_gone","window_start":"yesterday"}`, "decode dnis_gone"},
	} {
		if ev, err := consume.Decode([]byte(c.value)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Decode(%q) = %v, %v; want an error containing %q", c.value, ev, err, c.want)
		}
	}
}
