package schema_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/skill6pub/skill6pub/schema"
)

func TestNullJSON(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{schema.IntOf(0), "0"},
		{schema.NullInt{Int: 5}, "null"},
		{schema.FloatOf(28.81), "28.81"},
		{schema.FloatOf(9336), "9336"},
		{schema.FloatOf(0), "0"},
		{schema.NullFloat{Float: 1}, "null"},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", c.v, b, err, c.want)
		}
	}
	var m schema.Metrics
	if err := json.Unmarshal([]byte(`{"inbound_calls":3,"asa_seconds":null,"abandon_pct":28.81}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.InboundCalls != schema.IntOf(3) || m.ASASeconds.Valid || m.AbandonPct != schema.FloatOf(28.81) {
		t.Errorf("Unmarshal = %+v", m)
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := json.Marshal(schema.FloatOf(f)); !errors.Is(err, schema.ErrNotFinite) {
			t.Errorf("Marshal(%v) error %v, want ErrNotFinite", f, err)
		}
	}
}

func TestMetricsValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*schema.Metrics)
		metric string
		is     error
	}{
		{"all null", func(m *schema.Metrics) { *m = schema.Metrics{} }, "", nil},
		{"over 100 percent", func(m *schema.Metrics) { m.ServiceLevel30sPct = schema.FloatOf(9336) }, "", nil},
		{"zero", func(m *schema.Metrics) { m.InboundCalls = schema.IntOf(0) }, "", nil},
		{"negative count", func(m *schema.Metrics) { m.AbandonCalls = schema.IntOf(-1) }, "abandon_calls", schema.ErrNegative},
		{"negative seconds", func(m *schema.Metrics) { m.ATASeconds = schema.FloatOf(-0.5) }, "ata_seconds", schema.ErrNegative},
		{"NaN", func(m *schema.Metrics) { m.ServiceLevel10sPct = schema.FloatOf(math.NaN()) }, "service_level_10s_pct", schema.ErrNotFinite},
		{"infinite", func(m *schema.Metrics) { m.ASASeconds = schema.FloatOf(math.Inf(1)) }, "asa_seconds", schema.ErrNotFinite},
	}
	for _, c := range cases {
		m := sampleMetrics()
		c.change(&m)
		err := m.Validate()
		var me *schema.MetricError
		switch {
		case c.is == nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.is != nil && (!errors.Is(err, c.is) || !errors.As(err, &me) || me.Metric != c.metric):
			t.Errorf("%s: error %v, want a MetricError on %s wrapping %v", c.name, err, c.metric, c.is)
		}
	}
}

// TestAppendFloatMatchesStrconv compares the fast path of appendFloat with
// strconv on every two-decimal value up to ±20,000.00, on values around
// its limits, and on values it leaves to strconv.
func TestAppendFloatMatchesStrconv(t *testing.T) {
	check := func(f float64) {
		t.Helper()
		if got, want := string(schema.AppendFloat(nil, f)), strconv.FormatFloat(f, 'f', -1, 64); got != want {
			t.Fatalf("appendFloat(%g) = %s, strconv gives %s", f, got, want)
		}
	}
	for cents := int64(-2_000_000); cents <= 2_000_000; cents++ {
		check(float64(cents) / 100)
	}
	for _, f := range []float64{
		0, math.Copysign(0, -1), 1e13 - 0.01, -(1e13 - 0.01), 1e13, 9_999_999_999_999.99, 123_456_789.99,
		1e-7, 0.001, 0.015, 0.125, 1.0 / 3, 28.814999, math.Nextafter(33.33, 34), math.Nextafter(33.33, 0),
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1 << 53, 4.5e15 + 0.5, 92_233_720_368_547.75,
		1e13 - 1, 1e12, 9_999_999_999_999.995, 0.005, 0.004999999999999999, 0.995, 99.995, 1 - 1e-16,
	} {
		check(f)
		check(-f)
		check(math.Nextafter(f, math.Inf(1)))
		check(math.Nextafter(f, math.Inf(-1)))
	}
	// Whole numbers and two decimals up to the limit, and any float.
	r := rand.New(rand.NewPCG(3, 4))
	for range 300_000 {
		check(float64(r.Int64N(2e15)-1e15) / 100)
		check(float64(r.Int64N(2e13) - 1e13))
		check(math.Float64frombits(r.Uint64()))
	}
}

// TestAppendIntMatchesStrconv checks appendInt's own digits (0 to 999) and
// the numbers around them and at the limits, which strconv writes.
func TestAppendIntMatchesStrconv(t *testing.T) {
	check := func(v int64) {
		t.Helper()
		if got, want := string(schema.AppendInt([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
			t.Fatalf("appendInt(%d) = %s, strconv gives %s", v, got, want)
		}
	}
	for v := int64(-1100); v <= 1100; v++ {
		check(v)
	}
	for _, v := range []int64{math.MinInt64, math.MinInt64 + 1, math.MaxInt64, 1e15, -1e15} {
		check(v)
	}
}
