package schema_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/schema"
)

// FuzzEncoderMatchesEncodingJSON: the hand-written encoder gives byte for
// byte what encoding/json gives for the same event, whatever its strings,
// numbers and times, and fails exactly when encoding/json fails. What the
// fuzzer finds stays in testdata/fuzz and runs with every go test.
func FuzzEncoderMatchesEncodingJSON(f *testing.F) {
	f.Add(uint8(0), "573001234567", "0032", "12", "skill6pub", "1.0.0", int64(1741532400), int64(6*time.Minute+125*time.Millisecond), int32(-5*3600), int64(3), 33.33, -66.67, true, 0)
	f.Add(uint8(1), "+57 <300> & \"q\" \\ \u2028 ñ \x01 \xff", "all", "7/8", "</script>", "v1-ß", int64(0), int64(999999999), int32(5*3600+1800), int64(-1), 1e21, 5e-324, false, 3)
	f.Add(uint8(2), "", "", "", "", "", int64(253402300799), int64(1), int32(0), int64(1<<62), 100.0, 0.1, true, 1)
	f.Fuzz(func(t *testing.T, kind uint8, dnis, operation, skill, producerName, version string,
		unixStart, fetchedAfter int64, offset int32, count int64, f1, f2 float64, flag bool, revision int) {
		start := time.Unix(unixStart, 0).In(time.FixedZone("", int(offset)))
		env := schema.Envelope{
			EventID: "0123456789abcdef0123456789abcdef", SchemaVersion: schema.Version,
			Operation: operation, SkillID: skill, WindowStart: start, WindowEnd: start.Add(5 * time.Minute),
			Revision: revision, FetchedAt: schema.MilliOf(start.Add(time.Duration(fetchedAfter))),
			Producer: schema.Producer{Name: producerName, Version: version},
		}
		m := schema.Metrics{
			InboundCalls: schema.IntOf(count), AnswerCalls: schema.IntOf(-count),
			ServiceLevel10sPct: schema.FloatOf(f1), ServiceLevel30sPct: schema.FloatOf(f2),
			AbandonPct: schema.FloatOf(f1 - f2), ATASeconds: schema.FloatOf(f2 * 100),
		}
		var e schema.Event
		switch kind % 3 {
		case 0:
			env.EventType = schema.TypeDNISWindow
			w := &schema.DNISWindow{Envelope: env, DNIS: dnis, DNISHashed: flag, Change: schema.Change(version),
				SourceRows: int(count), Metrics: m, PreviousWindowKnown: flag}
			if flag {
				w.Previous, w.Delta = &schema.Metrics{ASASeconds: schema.FloatOf(f2)}, &m
			}
			e = w
		case 1:
			env.EventType = schema.TypeDNISGone
			e = &schema.DNISGone{Envelope: env, DNIS: dnis, DNISHashed: flag, Previous: m}
		default:
			env.EventType = schema.TypeWindowClosed
			c := &schema.WindowClosed{Envelope: env, PreviousWindowKnown: flag, RowCount: int(count), GoneCount: revision,
				MaybeTruncated: flag, Totals: schema.Totals{InboundCalls: count, AnswerCalls: -count,
					ServiceLevel20sPct: schema.FloatOf(f1), ASASeconds: schema.FloatOf(f2)}}
			if flag {
				previous := start.Add(-time.Duration(fetchedAfter))
				c.PreviousWindowStart = &previous
			}
			e = c
		}

		want, wantErr := json.Marshal(e)
		var enc schema.Encoder
		for pass := range 2 { // the second pass reuses what the Encoder formatted for the window
			got, err := enc.Encode(e)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("pass %d: Encoder error %v, encoding/json error %v", pass, err, wantErr)
			}
			if err != nil {
				continue
			}
			if !bytes.Equal(got.Value, want) {
				t.Fatalf("pass %d: Encoder and encoding/json differ:\n got %s\nwant %s", pass, got.Value, want)
			}
			if string(got.Key) != e.Key() {
				t.Fatalf("pass %d: key %q, Key() %q", pass, got.Key, e.Key())
			}
		}
		if wantErr != nil {
			return
		}
		// fetched_at is a MilliTime, encoded by its own MarshalJSON: check
		// it against time's formatting too.
		at := `"fetched_at":"` + env.FetchedAt.Format("2006-01-02T15:04:05.000Z07:00") + `"`
		if !strings.Contains(string(want), at) {
			t.Fatalf("%s lacks %s", want, at)
		}
	})
}
