package schema_test

import (
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/snapshot"
)

// bogota is the operation's zone in the samples (fixed, so that the tests
// do not depend on the host's tzdata).
var bogota = time.FixedZone("COT", -5*3600)

func sampleEnvelope(eventType, subject string) schema.Envelope {
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, bogota)
	e := schema.Envelope{
		EventType:     eventType,
		SchemaVersion: schema.Version,
		Operation:     "0032",
		SkillID:       "12",
		WindowStart:   start,
		WindowEnd:     start.Add(5 * time.Minute),
		Revision:      0,
		FetchedAt:     schema.MilliOf(time.Date(2025, 3, 9, 10, 6, 0, 125_000_000, bogota)),
		Producer:      schema.Producer{Name: "skill6pub", Version: "1.0.0"},
	}
	// The samples were compared with the window before (dnis_gone only
	// exists then; dead letters do not depend on it).
	scope := schema.IDScope{Operation: e.Operation, SkillID: e.SkillID, WindowStart: e.WindowStart, WindowEnd: e.WindowEnd}
	if eventType != schema.TypeDeadLetter {
		previous := start.Add(-5 * time.Minute)
		scope.PreviousWindowStart = &previous
	}
	e.EventID = schema.EventID(eventType, scope, subject)
	return e
}

func sampleMetrics() schema.Metrics {
	return schema.Metrics{
		InboundCalls:       schema.IntOf(3),
		AnswerCalls:        schema.IntOf(2),
		AbandonCalls:       schema.IntOf(1),
		ServiceLevel10sPct: schema.FloatOf(33.33),
		ServiceLevel20sPct: schema.FloatOf(66.67),
		ServiceLevel30sPct: schema.FloatOf(66.67),
		AbandonPct:         schema.FloatOf(33.33),
		ASASeconds:         schema.FloatOf(14),
		ATASeconds:         schema.FloatOf(76),
	}
}

// The samples the golden files, and so README.md, show are real output:
// two wolkvox responses as the API sends them, typed by fetch.Decode and
// compared by snapshot.Diff, as the service makes every event.
const (
	samplePreviousBody = `{"code":200,"error":null,"msg":"2 records were found","data":[
{"dnis":"573001234567","inbound_calls":"1","answer_calls":"1","abandon_calls":"0","service_level_10seg":"100.00 %","service_level_20seg":"100.00 %","service_level_30seg":"100.00 %","abandon":"0.00 %","asa":"00:00:04","ata":""},
{"dnis":"573109876543","inbound_calls":"3","answer_calls":"2","abandon_calls":"1","service_level_10seg":"33.33 %","service_level_20seg":"66.67 %","service_level_30seg":"66.67 %","abandon":"33.33 %","asa":"00:00:14","ata":"00:01:16"}]}`
	sampleBody = `{"code":"200","error":null,"msg":"2 records were found","data":[
{"dnis":"573001234567","inbound_calls":"3","answer_calls":"2","abandon_calls":"1","service_level_10seg":"33.33 %","service_level_20seg":"66.67 %","service_level_30seg":"66.67 %","abandon":"33.33 %","asa":"00:00:14","ata":"00:01:16"},
{"dnis":"573001112222","inbound_calls":"tres","answer_calls":"2","abandon_calls":"1","service_level_10seg":"","service_level_20seg":"","service_level_30seg":"","abandon":"33.33 %","asa":"00:00:14","ata":"00:01:16"}]}`
)

// sampleOutput is the output of the sample window, built anew on each call
// so that a test may change the events it gets.
func sampleOutput() snapshot.Output {
	window := func(body string, start time.Time) snapshot.Window {
		report, err := fetch.Decode([]byte(body))
		if err != nil {
			panic(err)
		}
		return snapshot.Window{
			Operation: "0032", SkillID: "12", Start: start, End: start.Add(5 * time.Minute),
			FetchedAt: start.Add(6*time.Minute + 125*time.Millisecond + 374*time.Microsecond).UTC(),
			Producer:  schema.Producer{Name: "skill6pub", Version: "1.0.0"}, Report: report,
		}
	}
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, bogota)
	previous := snapshot.Diff(nil, window(samplePreviousBody, start.Add(-5*time.Minute))).Snapshot
	return snapshot.Diff(&previous, window(sampleBody, start))
}

// sampleEvent returns the sample window's event of type eventType.
func sampleEvent(eventType string) schema.Event {
	for _, e := range sampleOutput().Events.All() {
		if e.Head().EventType == eventType {
			return e
		}
	}
	panic("no " + eventType + " in the sample window")
}

func sampleDNISWindow() *schema.DNISWindow {
	return sampleEvent(schema.TypeDNISWindow).(*schema.DNISWindow)
}

func sampleDNISGone() *schema.DNISGone { return sampleEvent(schema.TypeDNISGone).(*schema.DNISGone) }

func sampleWindowClosed() *schema.WindowClosed {
	return sampleEvent(schema.TypeWindowClosed).(*schema.WindowClosed)
}

func sampleDeadLetter() schema.DeadLetter { return sampleOutput().DeadLetters[0] }

// secretKey is the DNIS_HMAC_KEY of the examples.
func secretKey() secret.String { return secret.New("example key") }
