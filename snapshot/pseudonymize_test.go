package snapshot_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/snapshot"
)

// encodedOutput is every record an output publishes, as bytes.
func encodedOutput(t *testing.T, out snapshot.Output) []string {
	t.Helper()
	var records []string
	for _, e := range out.Events.All() {
		m, err := schema.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, string(m.Key)+" "+string(m.Value))
	}
	for _, d := range out.DeadLetters {
		m, err := schema.EncodeDeadLetter(d)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, string(m.Key)+" "+string(m.Value))
	}
	return records
}

// TestPseudonymizedReportGivesTheSameOutput checks the promise the
// scheduler's write-ahead record rests on: a report pseudonymized first and
// marked so gives the same records, byte for byte, as the raw report, and
// holds no phone number.
func TestPseudonymizedReportGivesTheSameOutput(t *testing.T) {
	prevRows := []fetch.Row{row("573001112233", calls(2, 2, 100, 4)), row("573004445566", calls(1, 0, 0, 0))}
	cur := window(
		row("573001112233", calls(3, 2, 50, 9)),
		row("573007778899", calls(1, 1, 100, 2)),
		row("573007778899", calls(2, 1, 50, 20)),                            // merged with the row above
		row("573000000001", schema.Metrics{InboundCalls: schema.IntOf(-1)}), // refused after typing
	)
	cur.Report.Rejected = []fetch.RejectedRow{
		{Index: 4, Raw: json.RawMessage(`{"dnis":"573009990000","inbound_calls":"x"}`), Reason: "inbound_calls \"x\": not a number"},
		{Index: 5, Raw: json.RawMessage(`["573009990001"]`), Reason: "the row is an array, want an object"},
	}
	for _, tc := range []struct {
		name   string
		hasher *schema.DNISHasher
	}{{"without a key", nil}, {"with DNIS_HMAC_KEY", schema.NewDNISHasher(secret.New("k3y"))}} {
		t.Run(tc.name, func(t *testing.T) {
			raw := cur
			raw.Hasher = tc.hasher
			prev := snapshot.Diff(nil, snapshot.Window{
				Operation: raw.Operation, SkillID: raw.SkillID, Start: previousStart, End: windowStart,
				FetchedAt: raw.FetchedAt, Producer: raw.Producer, Hasher: tc.hasher, Report: fetch.Report{Rows: prevRows},
			}).Snapshot
			want := snapshot.Diff(&prev, raw)

			pseudo := raw
			pseudo.Report = snapshot.Pseudonymize(raw.Report, tc.hasher)
			pseudo.Pseudonymized = true
			got := snapshot.Diff(&prev, pseudo)

			w, g := encodedOutput(t, want), encodedOutput(t, got)
			if strings.Join(w, "\n") != strings.Join(g, "\n") {
				t.Fatalf("records differ:\n got %q\nwant %q", g, w)
			}
			revisedWant, _ := snapshot.Revise(want.Snapshot, raw)
			revisedGot, _ := snapshot.Revise(want.Snapshot, pseudo)
			if strings.Join(encodedOutput(t, revisedWant), "\n") != strings.Join(encodedOutput(t, revisedGot), "\n") {
				t.Error("revision records differ")
			}
			if tc.hasher == nil {
				return
			}
			stored, err := json.Marshal(pseudo.Report)
			if err != nil {
				t.Fatal(err)
			}
			for _, number := range []string{"573001112233", "573007778899", "573000000001", "573009990000", "573009990001"} {
				if bytes.Contains(stored, []byte(number)) {
					t.Errorf("the pseudonymized report still holds %s: %s", number, stored)
				}
			}
			if raw.Report.Rows[0].DNIS != "573001112233" {
				t.Error("Pseudonymize changed the report it was given")
			}
		})
	}
}
