package schema_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/skill6pub/skill6pub/schema"
)

func printMessage(m schema.Message) {
	fmt.Printf("key: %s\n", m.Key)
	for _, h := range m.Headers {
		fmt.Printf("%s: %s\n", h.Key, h.Value)
	}
	var b bytes.Buffer
	_ = json.Indent(&b, m.Value, "", "  ")
	fmt.Println(b.String())
}

// A DNIS that called in the previous window too and whose numbers changed,
// published without pseudonymization.
func ExampleEncode_dnisWindow() {
	cot := time.FixedZone("COT", -5*3600)
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, cot)
	previous := start.Add(-5 * time.Minute)
	e := &schema.DNISWindow{
		Envelope: schema.Envelope{
			EventID:       schema.EventID(schema.TypeDNISWindow, schema.IDScope{Operation: "0032", SkillID: "12", WindowStart: start, WindowEnd: start.Add(5 * time.Minute), PreviousWindowStart: &previous}, "573001234567"),
			EventType:     schema.TypeDNISWindow,
			SchemaVersion: schema.Version,
			Operation:     "0032",
			SkillID:       "12",
			WindowStart:   start,
			WindowEnd:     start.Add(5 * time.Minute),
			FetchedAt:     schema.MilliOf(start.Add(6 * time.Minute)),
			Producer:      schema.Producer{Name: "skill6pub", Version: "1.0.0"},
		},
		DNIS:                "573001234567",
		Change:              schema.ChangeChanged,
		SourceRows:          1,
		Metrics:             schema.Metrics{InboundCalls: schema.IntOf(2), AnswerCalls: schema.IntOf(2), AbandonCalls: schema.IntOf(0), ASASeconds: schema.FloatOf(12)},
		PreviousWindowKnown: true,
		Previous:            &schema.Metrics{InboundCalls: schema.IntOf(1), AnswerCalls: schema.IntOf(0), AbandonCalls: schema.IntOf(1)},
		Delta:               &schema.Delta{InboundCalls: schema.IntOf(1), AnswerCalls: schema.IntOf(2), AbandonCalls: schema.IntOf(-1)},
	}
	m, err := schema.Encode(e)
	if err != nil {
		fmt.Println(err)
		return
	}
	printMessage(m)
	// Output:
	// key: 0032:12:573001234567
	// ce_specversion: 1.0
	// ce_id: ebbdbbf533fe39d5adbee71af2bb2305
	// ce_type: com.github.skill6pub.dnis_window.v1
	// ce_source: /wolkvox/0032/skill_6/12
	// ce_subject: 573001234567
	// ce_time: 2025-03-09T10:05:00-05:00
	// ce_dataschema: https://github.com/skill6pub/skill6pub/schema/events.v1.schema.json#/$defs/dnis_window
	// content-type: application/json
	// {
	//   "event_id": "ebbdbbf533fe39d5adbee71af2bb2305",
	//   "event_type": "dnis_window",
	//   "schema_version": 1,
	//   "operation": "0032",
	//   "skill_id": "12",
	//   "window_start": "2025-03-09T10:00:00-05:00",
	//   "window_end": "2025-03-09T10:05:00-05:00",
	//   "revision": 0,
	//   "fetched_at": "2025-03-09T10:06:00.000-05:00",
	//   "producer": {
	//     "name": "skill6pub",
	//     "version": "1.0.0"
	//   },
	//   "dnis": "573001234567",
	//   "dnis_hashed": false,
	//   "change": "changed",
	//   "source_rows": 1,
	//   "metrics": {
	//     "inbound_calls": 2,
	//     "answer_calls": 2,
	//     "abandon_calls": 0,
	//     "service_level_10s_pct": null,
	//     "service_level_20s_pct": null,
	//     "service_level_30s_pct": null,
	//     "abandon_pct": null,
	//     "asa_seconds": 12,
	//     "ata_seconds": null
	//   },
	//   "previous_window_known": true,
	//   "previous": {
	//     "inbound_calls": 1,
	//     "answer_calls": 0,
	//     "abandon_calls": 1,
	//     "service_level_10s_pct": null,
	//     "service_level_20s_pct": null,
	//     "service_level_30s_pct": null,
	//     "abandon_pct": null,
	//     "asa_seconds": null,
	//     "ata_seconds": null
	//   },
	//   "delta": {
	//     "inbound_calls": 1,
	//     "answer_calls": 2,
	//     "abandon_calls": -1,
	//     "service_level_10s_pct": null,
	//     "service_level_20s_pct": null,
	//     "service_level_30s_pct": null,
	//     "abandon_pct": null,
	//     "asa_seconds": null,
	//     "ata_seconds": null
	//   }
	// }
}

// A caller of the previous window who did not call in this one, with the
// DNIS pseudonymized by DNIS_HMAC_KEY.
func ExampleEncode_dnisGone() {
	hasher := schema.NewDNISHasher(secretKey())
	dnis := hasher.Hash("573109876543")
	start := time.Date(2025, 3, 9, 15, 0, 0, 0, time.UTC)
	previous := start.Add(-5 * time.Minute)
	e := &schema.DNISGone{
		Envelope: schema.Envelope{
			EventID:       schema.EventID(schema.TypeDNISGone, schema.IDScope{Operation: "0032", SkillID: "12", WindowStart: start, WindowEnd: start.Add(5 * time.Minute), PreviousWindowStart: &previous}, dnis),
			EventType:     schema.TypeDNISGone,
			SchemaVersion: schema.Version,
			Operation:     "0032",
			SkillID:       "12",
			WindowStart:   start,
			WindowEnd:     start.Add(5 * time.Minute),
			FetchedAt:     schema.MilliOf(start.Add(6 * time.Minute)),
			Producer:      schema.Producer{Name: "skill6pub", Version: "1.0.0"},
		},
		DNIS:       dnis,
		DNISHashed: hasher.Enabled(),
		Previous:   schema.Metrics{InboundCalls: schema.IntOf(1), AnswerCalls: schema.IntOf(1), AbandonCalls: schema.IntOf(0), ServiceLevel20sPct: schema.FloatOf(100)},
	}
	m, err := schema.Encode(e)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("key: %s\n%s\n", m.Key, m.Value)
	// Output:
	// key: 0032:12:b731789de483ce78ca416cce29ff6855f86d782b0930d4d691a7b04b7a0a945f
	// {"event_id":"792badade72c38214c95a150add9edb4","event_type":"dnis_gone","schema_version":1,"operation":"0032","skill_id":"12","window_start":"2025-03-09T15:00:00Z","window_end":"2025-03-09T15:05:00Z","revision":0,"fetched_at":"2025-03-09T15:06:00.000Z","producer":{"name":"skill6pub","version":"1.0.0"},"dnis":"b731789de483ce78ca416cce29ff6855f86d782b0930d4d691a7b04b7a0a945f","dnis_hashed":true,"previous":{"inbound_calls":1,"answer_calls":1,"abandon_calls":0,"service_level_10s_pct":null,"service_level_20s_pct":100,"service_level_30s_pct":null,"abandon_pct":null,"asa_seconds":null,"ata_seconds":null}}
}

// The mark that a window is complete: here a window without any call.
func ExampleEncode_windowClosed() {
	cot := time.FixedZone("COT", -5*3600)
	start := time.Date(2025, 3, 9, 3, 0, 0, 0, cot)
	previous := start.Add(-5 * time.Minute)
	e := &schema.WindowClosed{
		Envelope: schema.Envelope{
			EventID:       schema.EventID(schema.TypeWindowClosed, schema.IDScope{Operation: "0032", SkillID: "12", WindowStart: start, WindowEnd: start.Add(5 * time.Minute), PreviousWindowStart: &previous}, schema.WindowSubject),
			EventType:     schema.TypeWindowClosed,
			SchemaVersion: schema.Version,
			Operation:     "0032",
			SkillID:       "12",
			WindowStart:   start,
			WindowEnd:     start.Add(5 * time.Minute),
			FetchedAt:     schema.MilliOf(start.Add(6 * time.Minute)),
			Producer:      schema.Producer{Name: "skill6pub", Version: "1.0.0"},
		},
		PreviousWindowKnown: true,
		PreviousWindowStart: &previous,
		NoData:              true,
	}
	m, err := schema.Encode(e)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("key: %s\n%s\n", m.Key, m.Value)
	// Output:
	// key: 0032:12
	// {"event_id":"5f83b3f222cea852a7adddc1547d9387","event_type":"window_closed","schema_version":1,"operation":"0032","skill_id":"12","window_start":"2025-03-09T03:00:00-05:00","window_end":"2025-03-09T03:05:00-05:00","revision":0,"fetched_at":"2025-03-09T03:06:00.000-05:00","producer":{"name":"skill6pub","version":"1.0.0"},"previous_window_known":true,"previous_window_start":"2025-03-09T02:55:00-05:00","row_count":0,"merged_rows":0,"rejected_rows":0,"dnis_window_events":0,"gone_count":0,"repeat_callers":0,"maybe_truncated":false,"no_data":true,"totals":{"inbound_calls":0,"answer_calls":0,"abandon_calls":0,"service_level_10s_pct":null,"service_level_20s_pct":null,"service_level_30s_pct":null,"abandon_pct":null,"asa_seconds":null,"ata_seconds":null}}
}

// A row wolkvox sent that could not be typed goes to the dead-letter topic
// with its raw JSON and the reason; the rest of its window is published.
func ExampleEncodeDeadLetter() {
	cot := time.FixedZone("COT", -5*3600)
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, cot)
	window := schema.Envelope{
		Operation:   "0032",
		SkillID:     "12",
		WindowStart: start,
		WindowEnd:   start.Add(5 * time.Minute),
		FetchedAt:   schema.MilliOf(start.Add(6 * time.Minute)),
		Producer:    schema.Producer{Name: "skill6pub", Version: "1.0.0"},
	}
	raw := json.RawMessage(`{"dnis":"573001112222","inbound_calls":"tres"}`)
	m, err := schema.EncodeDeadLetter(schema.RowDeadLetter(&window, 4, 0, `inbound_calls "tres": not a number`, raw, false))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("key: %s\n%s\n", m.Key, m.Value)
	// Output:
	// key: 0032:12
	// {"dead_letter_id":"8ffdb2bda85362c2b49486e248148b1a","schema_version":1,"operation":"0032","skill_id":"12","window_start":"2025-03-09T10:00:00-05:00","window_end":"2025-03-09T10:05:00-05:00","revision":0,"fetched_at":"2025-03-09T10:06:00.000-05:00","source":"row","row_index":4,"reason":"inbound_calls \"tres\": not a number","dnis_hashed":false,"raw":{"dnis":"573001112222","inbound_calls":"tres"},"producer":{"name":"skill6pub","version":"1.0.0"}}
}

// Many events, the way the producer encodes a window: one Encoder per
// goroutine, each over a contiguous range of the events, so that what the
// events of the window share is formatted once per range.
func ExampleEncoder() {
	start := time.Date(2025, 3, 9, 15, 0, 0, 0, time.UTC)
	previous := start.Add(-5 * time.Minute)
	var events []schema.Event
	for _, dnis := range []string{"573001111111", "573002222222"} {
		events = append(events, &schema.DNISGone{
			Envelope: schema.Envelope{
				EventID:       schema.EventID(schema.TypeDNISGone, schema.IDScope{Operation: "0032", SkillID: "12", WindowStart: start, WindowEnd: start.Add(5 * time.Minute), PreviousWindowStart: &previous}, dnis),
				EventType:     schema.TypeDNISGone,
				SchemaVersion: schema.Version,
				Operation:     "0032",
				SkillID:       "12",
				WindowStart:   start,
				WindowEnd:     start.Add(5 * time.Minute),
				FetchedAt:     schema.MilliOf(start.Add(6 * time.Minute)),
				Producer:      schema.Producer{Name: "skill6pub", Version: "1.0.0"},
			},
			DNIS: dnis,
		})
	}
	var enc schema.Encoder // not shared between goroutines
	for _, e := range events {
		m, err := enc.Encode(e) // read-only: m shares memory with the other messages
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s %s\n", m.Key, m.Headers[1].Value) // key and ce_id
	}
	// Output:
	// 0032:12:573001111111 1b86df1fed62eda6af9d83a9c483c541
	// 0032:12:573002222222 c2c409709f79178e14fd49a028a4867a
}
