package producer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/schema/schematest"
)

// murmur2 is the Java client's Utils.murmur2, written from its source
// independently of kafka-go's.
func murmur2(data []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	for i := 0; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[n&^3:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// javaPartition is the Java DefaultPartitioner's choice for a keyed record:
// toPositive(murmur2(key)) % partitions.
func javaPartition(key string, partitions int) int32 {
	return int32(int64(murmur2([]byte(key))&0x7fffffff) % int64(partitions))
}

func TestMurmur2MatchesJavaVectors(t *testing.T) {
	// "kafka" from RELIABILITY.md; the rest from Kafka's UtilsTest.
	kafka := uint32(0xd067cf64)
	for key, want := range map[string]int32{
		"kafka":                    int32(kafka),
		"21":                       -973932308,
		"foobar":                   -790332482,
		"a-little-bit-long-string": -985981536,
		"abc":                      479470107,
	} {
		if got := int32(murmur2([]byte(key))); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	c := newCluster(t)
	p := newProducer(t, testConfig(c))
	windows := [][]schema.Event{window(0, 200), window(1, 200), window(2, 200)}
	rejected := schema.DeadLetter{
		Operation: "0032", SkillID: "7", WindowStart: windowStart, Reason: "inbound_calls: \"x\" is not an integer",
		Raw: json.RawMessage(`{"dnis":"573001","inbound_calls":"x"}`),
	}
	for _, w := range windows {
		publish(t, p, w, rejected)
	}

	got := readBack(t, c, topic)
	if len(got) != 3*201 {
		t.Fatalf("stored %d records, want %d", len(got), 3*201)
	}
	if dups := checkAllStored(t, got, windows...); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	checkKeyOrder(t, got, windows...)
	checkRecordsAreTheirEvents(t, got, windows...)
	for _, r := range got {
		if want := javaPartition(r.Key, partitions); r.Partition != want {
			t.Errorf("key %q in partition %d, the Java client puts it in %d", r.Key, r.Partition, want)
		}
	}

	dead := readBack(t, c, dlqTopic)
	if len(dead) != 3 {
		t.Fatalf("dead-letter topic holds %d records, want 3", len(dead))
	}
	wantDead, err := schema.EncodeDeadLetter(rejected)
	if err != nil {
		t.Fatal(err)
	}
	if d := dead[0]; d.Value != string(wantDead.Value) || d.Headers["reason"] != rejected.Reason || d.Key != "0032:7" {
		t.Errorf("dead letter %+v, want value %s with reason header", d, wantDead.Value)
	}
}

func TestEveryCompressionRoundTrips(t *testing.T) {
	c := newCluster(t)
	for i, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		cfg := testConfig(c)
		cfg.Compression = codec
		p := newProducer(t, cfg)
		before := len(readBack(t, c, topic))
		events := window(i, 50)
		publish(t, p, events)
		got := readBack(t, c, topic)
		added := map[string]record{}
		for _, r := range got {
			added[r.id()] = r
		}
		for _, e := range events {
			r, ok := added[e.Head().EventID]
			m, _ := schema.Encode(e)
			switch {
			case !ok:
				t.Errorf("%s: event %s not stored", codec, e.Head().EventID)
			case r.Value != string(m.Value):
				t.Errorf("%s: value %s, want %s", codec, r.Value, m.Value)
			case int(r.Codec) != i:
				t.Errorf("%s: stored with codec %d, want %d", codec, r.Codec, i)
			}
		}
		if len(got)-before != len(events) {
			t.Errorf("%s: stored %d records, want %d", codec, len(got)-before, len(events))
		}
	}
}

// Fault case 11: an event over KAFKA_BATCH_BYTES goes to the dead-letter
// topic with the reason; the rest of the window is published.
func TestOversizedEventGoesToDeadLetters(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c)
	cfg.BatchBytes = 8192
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	p := newProducer(t, cfg, producer.WithMetrics(m))
	events := window(0, 20)
	huge := events[7].(*schema.DNISWindow)
	huge.DNIS = strings.Repeat("9", 9000) // a broken upstream value
	nan := events[8].(*schema.DNISWindow)
	nan.Metrics.ASASeconds = schema.FloatOf(math.NaN())
	publish(t, p, events)

	got := readBack(t, c, topic)
	if len(got) != len(events)-2 {
		t.Errorf("stored %d events, want %d", len(got), len(events)-2)
	}
	checkAllStored(t, got, append(append([]schema.Event{}, events[:7]...), events[9:]...))
	dead := readBack(t, c, dlqTopic)
	if len(dead) != 2 {
		t.Fatalf("dead-letter topic holds %d records, want 2", len(dead))
	}
	deadLetterSchema := schematest.Compile(t, schema.DeadLetterJSONSchemaDocument())
	reasons := map[string]schema.DeadLetter{}
	for _, r := range dead {
		value, err := jsonschema.UnmarshalJSON(strings.NewReader(r.Value))
		if err != nil {
			t.Fatal(err)
		}
		if err := deadLetterSchema.Validate(value); err != nil {
			t.Errorf("dead letter breaks its JSON Schema: %v\n%s", err, r.Value)
		}
		var d schema.DeadLetter
		if err := json.Unmarshal([]byte(r.Value), &d); err != nil {
			t.Fatal(err)
		}
		if r.Headers["reason"] != d.Reason {
			t.Errorf("reason header %q, value says %q", r.Headers["reason"], d.Reason)
		}
		reasons[strings.SplitN(d.Reason, ":", 2)[0]] = d
	}
	for kind, e := range map[string]schema.Event{"oversized event": huge, "unencodable event": nan} {
		d, ok := reasons[kind]
		if !ok {
			t.Errorf("no %q dead letter among %v", kind, reasons)
			continue
		}
		if !bytes.Contains(d.Raw, []byte(e.Head().EventID)) || d.SkillID != "7" || !d.WindowStart.Equal(windowStart) {
			t.Errorf("%s dead letter %+v does not name event %s of its window", kind, d, e.Head().EventID)
		}
	}
	for label, want := range map[string]float64{"oversized": 1, "unencodable": 1} {
		if got := testutil.ToFloat64(m.DeadLetters.WithLabelValues("7", label)); got != want {
			t.Errorf("dead_letters_total{reason=%s} = %v, want %v", label, got, want)
		}
	}
	if got := testutil.ToFloat64(m.Events.WithLabelValues("7", schema.TypeDNISWindow)); got != 18 {
		t.Errorf("events_published_total{type=dnis_window} = %v, want 18", got)
	}
}

// A rejected row too large for KAFKA_BATCH_BYTES still reaches the
// dead-letter topic, without its raw bytes, instead of blocking the window.
func TestHugeDeadLetterIsCutDown(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c)
	cfg.BatchBytes = 8192
	p := newProducer(t, cfg)
	raw, _ := json.Marshal(map[string]string{"dnis": strings.Repeat("1", 20000)})
	publish(t, p, window(0, 3),
		schema.DeadLetter{Operation: "0032", SkillID: "7", Reason: "dnis: too long", Raw: raw},
		schema.DeadLetter{Operation: "0032", SkillID: "7", Reason: "not json", Raw: json.RawMessage("{oops")})
	dead := readBack(t, c, dlqTopic)
	if len(dead) != 2 {
		t.Fatalf("dead-letter topic holds %d records, want 2", len(dead))
	}
	byReason := map[string]string{}
	for _, r := range dead {
		byReason[r.Headers["reason"]] = r.Value
	}
	if v := byReason["dnis: too long"]; !strings.Contains(v, fmt.Sprintf(`"raw":{"truncated":true,"raw_bytes":%d}`, len(raw))) {
		t.Errorf("cut-down dead letter %s", v)
	}
	if v := byReason["not json"]; !strings.Contains(v, `"raw":"{oops"`) {
		t.Errorf("dead letter with non-JSON raw: %s", v)
	}
}

func TestPublishCountsMetricsAndLogsNothingOnSuccess(t *testing.T) {
	c := newCluster(t)
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	var logs bytes.Buffer
	p := newProducer(t, testConfig(c), producer.WithMetrics(m), producer.WithLogger(zerolog.New(&logs).Level(zerolog.InfoLevel)))
	publish(t, p, window(0, 5), schema.DeadLetter{Operation: "0032", SkillID: "7", Reason: "bad row"})
	for _, check := range []struct {
		name      string
		got, want float64
	}{
		{"events dnis_window", testutil.ToFloat64(m.Events.WithLabelValues("7", schema.TypeDNISWindow)), 5},
		{"events window_closed", testutil.ToFloat64(m.Events.WithLabelValues("7", schema.TypeWindowClosed)), 1},
		{"dead letters rejected_row", testutil.ToFloat64(m.DeadLetters.WithLabelValues("7", "rejected_row")), 1},
		{"publish errors", testutil.ToFloat64(m.PublishErrors.WithLabelValues("7")), 0},
		{"publish durations", float64(testutil.CollectAndCount(m.PublishSeconds)), 1},
	} {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.name, check.got, check.want)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("a clean publish logged at info: %s", logs.String())
	}
	if err := p.Publish(context.Background(), nil, nil); err != nil {
		t.Errorf("empty publish: %v", err)
	}
}
