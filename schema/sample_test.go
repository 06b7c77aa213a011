package schema_test

import (
	"time"

	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
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
		FetchedAt:     time.Date(2025, 3, 9, 10, 6, 0, 125_000_000, bogota),
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

func sampleDNISWindow() *schema.DNISWindow {
	previous := schema.Metrics{
		InboundCalls:       schema.IntOf(1),
		AnswerCalls:        schema.IntOf(1),
		AbandonCalls:       schema.IntOf(0),
		ServiceLevel10sPct: schema.FloatOf(100),
		ServiceLevel20sPct: schema.FloatOf(100),
		ServiceLevel30sPct: schema.FloatOf(100),
		AbandonPct:         schema.FloatOf(0),
		ASASeconds:         schema.FloatOf(4),
	}
	m := sampleMetrics()
	return &schema.DNISWindow{
		Envelope:            sampleEnvelope(schema.TypeDNISWindow, "573001234567"),
		DNIS:                "573001234567",
		Change:              schema.ChangeChanged,
		SourceRows:          1,
		Metrics:             m,
		PreviousWindowKnown: true,
		Previous:            &previous,
		Delta: &schema.Delta{
			InboundCalls:       schema.IntOf(2),
			AnswerCalls:        schema.IntOf(1),
			AbandonCalls:       schema.IntOf(1),
			ServiceLevel10sPct: schema.FloatOf(-66.67),
			ServiceLevel20sPct: schema.FloatOf(-33.33),
			ServiceLevel30sPct: schema.FloatOf(-33.33),
			AbandonPct:         schema.FloatOf(33.33),
			ASASeconds:         schema.FloatOf(10),
		},
	}
}

func sampleDNISGone() *schema.DNISGone {
	return &schema.DNISGone{
		Envelope: sampleEnvelope(schema.TypeDNISGone, "573109876543"),
		DNIS:     "573109876543",
		Previous: sampleMetrics(),
	}
}

func sampleWindowClosed() *schema.WindowClosed {
	previousStart := time.Date(2025, 3, 9, 9, 55, 0, 0, bogota)
	return &schema.WindowClosed{
		Envelope:            sampleEnvelope(schema.TypeWindowClosed, schema.WindowSubject),
		PreviousWindowKnown: true,
		PreviousWindowStart: &previousStart,
		RowCount:            1,
		RejectedRows:        1,
		DNISWindowEvents:    1,
		GoneCount:           1,
		RepeatCallers:       1,
		Totals: schema.Totals{
			InboundCalls:       3,
			AnswerCalls:        2,
			AbandonCalls:       1,
			ServiceLevel10sPct: schema.FloatOf(33.33),
			ServiceLevel20sPct: schema.FloatOf(66.67),
			ServiceLevel30sPct: schema.FloatOf(66.67),
			AbandonPct:         schema.FloatOf(33.33),
			ASASeconds:         schema.FloatOf(14),
			ATASeconds:         schema.FloatOf(76),
		},
	}
}

func sampleDeadLetter() schema.DeadLetter {
	env := sampleEnvelope(schema.TypeDNISWindow, "")
	raw := []byte(`{"dnis":"573001112222","inbound_calls":"tres","answer_calls":"2","abandon_calls":"1","service_level_10seg":"","service_level_20seg":"","service_level_30seg":"","abandon":"33.33 %","asa":"00:00:14","ata":"00:01:16"}`)
	return schema.RowDeadLetter(&env, 4, `inbound_calls: "tres" is not a number`, raw, false)
}

// secretKey is the DNIS_HMAC_KEY of the examples.
func secretKey() secret.String { return secret.New("example key") }
