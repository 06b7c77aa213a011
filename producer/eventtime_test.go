package producer_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/schema"
)

// Every record, event or dead letter, carries its window's end as its
// Kafka timestamp (CreateTime), whenever it is published: a backfill of
// last week is stamped with last week.
func TestEveryRecordIsTimedAtItsWindowEnd(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c)
	cfg.BatchBytes = 8192
	p := newProducer(t, cfg)
	ends := map[string]bool{} // window ends, RFC 3339
	for seq := range 3 {
		events := window(seq, 20)
		end := events[0].Head().WindowEnd
		ends[end.Format("2006-01-02T15:04:05Z07:00")] = true
		gone := &schema.DNISGone{Envelope: *events[1].Head(), DNIS: "573009999999"}
		gone.EventType, gone.EventID = schema.TypeDNISGone, events[1].Head().EventID+"-gone"
		events = append(events[:len(events)-1], gone, events[len(events)-1])
		events[4].(*schema.DNISWindow).DNIS = strings.Repeat("9", 9000) // diverted: oversized
		rejected := schema.DeadLetter{
			Operation: "0032", SkillID: "7", WindowStart: events[0].Head().WindowStart, WindowEnd: end,
			Reason: "inbound_calls: \"x\" is not a number", Raw: json.RawMessage(`{"dnis":"573001"}`),
		}
		publish(t, p, events, rejected)
	}
	for _, tp := range []string{topic, dlqTopic} {
		got := readBack(t, c, tp)
		if len(got) == 0 {
			t.Fatalf("%s is empty", tp)
		}
		types := map[string]int{}
		for _, r := range got {
			types[r.Headers["ce_type"]]++
			var v struct {
				WindowEnd string `json:"window_end"`
			}
			if err := json.Unmarshal([]byte(r.Value), &v); err != nil {
				t.Fatal(err)
			}
			if want := parseTime(t, v.WindowEnd); !r.Timestamp.Equal(want) {
				t.Errorf("%s record %s (%s): timestamp %s, want its window_end %s", tp, r.Key, r.Headers["ce_type"], r.Timestamp, want)
			}
			if !ends[v.WindowEnd] {
				t.Errorf("%s record %s: window_end %s is not one of the published windows", tp, r.Key, v.WindowEnd)
			}
		}
		t.Logf("%s: %v", tp, types)
	}
	if got := readBack(t, c, dlqTopic); len(got) != 6 {
		t.Errorf("dead-letter topic holds %d records, want a rejected row and an oversized event per window", len(got))
	}
}

func parseTime(t testing.TB, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
