package schema_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/snapshot"
)

// TestAppenderMatchesEncodingJSON: Encode writes the JSON by hand; it must
// be exactly what encoding/json makes of the same struct, for every event
// type and for awkward strings and times.
func TestAppenderMatchesEncodingJSON(t *testing.T) {
	same := func(e schema.Event) {
		t.Helper()
		m, err := schema.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.Value, want) {
			t.Errorf("Encode and encoding/json differ:\n got %s\nwant %s", m.Value, want)
		}
		if string(m.Key) != e.Key() {
			t.Errorf("Encode's key %s, Key() %s", m.Key, e.Key())
		}
	}
	same(sampleDNISWindow())
	same(sampleDNISGone())
	same(sampleWindowClosed())

	odd := sampleDNISWindow()
	odd.DNIS = "+57 <300> & \"quoted\" \\ \u2028 ñ \x01 \xff"
	odd.Producer = schema.Producer{Name: "skill6pub</script>", Version: "v1.0.0-ß"}
	odd.SkillID = "all"
	odd.WindowStart = time.Date(2025, 3, 9, 10, 0, 0, 0, time.FixedZone("", 5*3600+1800))
	odd.FetchedAt = schema.MilliOf(time.Date(2025, 3, 9, 10, 6, 0, 123456789, time.UTC))
	odd.Previous, odd.Delta = nil, nil
	odd.Change = schema.ChangeNew
	same(odd)

	noPrevious := sampleWindowClosed()
	noPrevious.PreviousWindowStart = nil
	noPrevious.Totals = schema.Totals{}
	same(noPrevious)

	r := rand.New(rand.NewPCG(7, 8))
	hasher := schema.NewDNISHasher(secret.New("k"))
	start := time.Date(2025, 3, 9, 0, 0, 0, 0, bogota)
	var prev *snapshot.Snapshot
	for range 20 {
		out := snapshot.Diff(prev, randomWindow(r, start, hasher))
		for _, e := range out.Events.All() {
			same(e)
		}
		prev = &out.Snapshot
		start = start.Add(5 * time.Minute)
	}
}

func TestEncodeRefusesTimesRFC3339CannotHold(t *testing.T) {
	e := sampleDNISGone()
	e.WindowEnd = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := schema.Encode(e); err == nil {
		t.Error("year 10000 encoded")
	}
	if _, err := json.Marshal(e); err == nil {
		t.Error("encoding/json accepts year 10000: the appender should too")
	}
}

// plainMetrics has the fields and tags of Metrics without its MarshalJSON,
// so encoding/json encodes it by reflection: the reference.
type plainMetrics schema.Metrics

func TestMetricsMarshalJSONMatchesReflection(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 200 {
		m := randomMetrics(r, false)
		got, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(plainMetrics(m))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Metrics.MarshalJSON differs from reflection:\n got %s\nwant %s", got, want)
		}
	}
}
