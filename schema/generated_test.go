package schema_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/schema/schematest"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/snapshot"
)

// randomMetrics returns plausible metrics with some values missing; with
// refuse, one value is out of the schema's range.
func randomMetrics(r *rand.Rand, refuse bool) schema.Metrics {
	maybeInt := func(v int64) schema.NullInt {
		if r.IntN(8) == 0 {
			return schema.NullInt{}
		}
		return schema.IntOf(v)
	}
	maybeFloat := func(v float64) schema.NullFloat {
		if r.IntN(8) == 0 {
			return schema.NullFloat{}
		}
		return schema.FloatOf(math.Round(v*100) / 100)
	}
	inbound := int64(r.IntN(6))
	answer := r.Int64N(inbound + 1)
	m := schema.Metrics{
		InboundCalls:       maybeInt(inbound),
		AnswerCalls:        maybeInt(answer),
		AbandonCalls:       maybeInt(inbound - answer),
		ServiceLevel10sPct: maybeFloat(r.Float64() * 100),
		ServiceLevel20sPct: maybeFloat(r.Float64() * 100),
		ServiceLevel30sPct: maybeFloat(r.Float64() * 9400), // wolkvox has shown 9,336.00 %
		AbandonPct:         maybeFloat(r.Float64() * 100),
		ASASeconds:         maybeFloat(r.Float64() * 300),
		ATASeconds:         maybeFloat(r.Float64() * 300),
	}
	if refuse {
		switch r.IntN(3) {
		case 0:
			m.ASASeconds = schema.FloatOf(math.NaN())
		case 1:
			m.AbandonPct = schema.FloatOf(math.Inf(1))
		default:
			m.AnswerCalls = schema.IntOf(-1)
		}
	}
	return m
}

// randomWindow draws rows from a small population of callers, so that
// windows share DNIS, repeats some DNIS inside a window, and gives some
// callers the same metrics window after window.
func randomWindow(r *rand.Rand, start time.Time, hasher *schema.DNISHasher) snapshot.Window {
	var rep fetch.Report
	for range r.IntN(25) {
		caller := r.IntN(40)
		m := randomMetrics(r, r.IntN(20) == 0)
		if r.IntN(3) == 0 {
			m = randomMetrics(rand.New(rand.NewPCG(uint64(caller), 0)), false)
		}
		rep.Rows = append(rep.Rows, fetch.Row{DNIS: "57300" + strconv.Itoa(1000+caller), Metrics: m})
	}
	raws := []string{`{"dnis":"573001111111","inbound_calls":"x"}`, `["573001111111"]`, `{"dnis":573001111111}`, `"garbage"`}
	for i := range r.IntN(3) {
		rep.Rejected = append(rep.Rejected, fetch.RejectedRow{Index: 100 + i, Raw: json.RawMessage(raws[r.IntN(len(raws))]), Reason: "bad number"})
	}
	rep.NoData = len(rep.Rows) == 0 && r.IntN(2) == 0
	rep.MaybeTruncated = r.IntN(10) == 0
	return snapshot.Window{
		Operation: "0032",
		SkillID:   strconv.Itoa(r.IntN(3)),
		Start:     start,
		End:       start.Add(5 * time.Minute),
		FetchedAt: start.Add(6*time.Minute + time.Duration(r.IntN(1e9))).UTC(),
		Producer:  schema.Producer{Name: "skill6pub", Version: "test"},
		Report:    rep,
		Hasher:    hasher,
	}
}

// TestGeneratedEventsValidate runs chains of random windows through Diff,
// Revise and a JSON round trip of the snapshot (as the state store does),
// and validates every event and dead letter against the JSON Schema.
func TestGeneratedEventsValidate(t *testing.T) {
	events := schematest.Compile(t, schema.JSONSchemaDocument())
	deadLetters := schematest.Compile(t, schema.DeadLetterJSONSchemaDocument())
	seen := map[string]int{}
	check := func(out snapshot.Output) {
		t.Helper()
		for _, e := range out.Events.All() {
			m, err := schema.Encode(e)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if err := validate(t, events, m.Value); err != nil {
				t.Fatalf("%v\n%s", err, m.Value)
			}
			seen[e.Head().EventType]++
			if w, ok := e.(*schema.DNISWindow); ok {
				seen[string(w.Change)]++
			}
		}
		for _, d := range out.DeadLetters {
			m, err := schema.EncodeDeadLetter(d)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if err := validate(t, deadLetters, m.Value); err != nil {
				t.Fatalf("%v\n%s", err, m.Value)
			}
			seen["dead letter"]++
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for chain := range 40 {
		var hasher *schema.DNISHasher
		if chain%2 == 1 {
			hasher = schema.NewDNISHasher(secret.New("chain key " + strconv.Itoa(chain%4)))
		}
		start := time.Date(2025, 3, 9, 0, 0, 0, 0, bogota)
		var prev *snapshot.Snapshot
		for range 8 {
			cur := randomWindow(r, start, hasher)
			out := snapshot.Diff(prev, cur)
			check(out)
			published := roundTrip(t, out.Snapshot)
			revised, changed := snapshot.Revise(published, randomWindow(r, start, hasher))
			if changed {
				check(revised)
				published = roundTrip(t, revised.Snapshot)
			}
			prev = &published
			start = start.Add(5 * time.Minute)
		}
	}
	for _, kind := range []string{"dnis_window", "dnis_gone", "window_closed", "new", "changed", "unchanged", "revised", "dead letter"} {
		if seen[kind] == 0 {
			t.Errorf("the generator produced no %s: the test covers less than it claims", kind)
		}
	}
	t.Log(fmt.Sprint(seen))
}

func roundTrip(t *testing.T, s snapshot.Snapshot) snapshot.Snapshot {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back snapshot.Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}
