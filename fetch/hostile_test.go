package fetch

import (
	"strings"
	"testing"
)

// TestDecodeRejectsHostileRows checks that values no wolkvox report holds
// become rejected rows (dead letters) with a reason, never typed rows: the
// rows around them are kept.
func TestDecodeRejectsHostileRows(t *testing.T) {
	for _, tc := range []struct {
		name, row, reason string
	}{
		{"huge count", `{"dnis":"1","inbound_calls":"9,223,372,036,854,775,807"}`, "too large"},
		{"count over the bound", `{"dnis":"1","inbound_calls":"1000000001"}`, "too large"},
		{"huge count as a JSON number", `{"dnis":"1","answer_calls":123456789012}`, "too large"},
		{"huge percentage", `{"dnis":"1","service_level_10seg":"99999999999999999999999999999999999999 %"}`, "too large"},
		{"huge duration", `{"dnis":"1","asa":"999999999:00:00"}`, "too large"},
		{"negative count", `{"dnis":"1","abandon_calls":"-3"}`, "negative"},
		{"negative count as a JSON number", `{"dnis":"1","abandon_calls":-3}`, "negative"},
		{"negative zero", `{"dnis":"1","abandon_calls":"-0"}`, "negative"},
		{"NaN", `{"dnis":"1","abandon":"NaN"}`, "abandon"},
		{"Infinity", `{"dnis":"1","ata":"Infinity"}`, "ata"},
		{"exponent", `{"dnis":"1","ata":1e308}`, "ata"},
		{"10,000-character DNIS", `{"dnis":"` + strings.Repeat("5", 10000) + `"}`, "not a phone number"},
		{"long escaped DNIS", `{"dnis":"` + strings.Repeat(`\u0035`, 200) + `"}`, "not a phone number"},
		{"DNIS of invalid UTF-8", "{\"dnis\":\"57\xff\xfe30\"}", "UTF-8"},
		{"DNIS as an object", `{"dnis":{"a":[[[[1]]]]}}`, "dnis is an object"},
		{"value as an array", `{"dnis":"1","inbound_calls":[1]}`, "inbound_calls is an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"code":200,"error":null,"msg":"3 records were found","data":[` +
				`{"dnis":"3001","inbound_calls":"1"},` + tc.row + `,{"dnis":"3002","inbound_calls":"2"}]}`
			rep, err := Decode([]byte(body))
			if err != nil {
				t.Fatalf("the whole body was refused: %v", err)
			}
			if len(rep.Rows) != 2 || rep.Rows[0].DNIS != "3001" || rep.Rows[1].DNIS != "3002" {
				t.Errorf("rows %+v, want the two good ones", rep.Rows)
			}
			if len(rep.Rejected) != 1 || rep.Rejected[0].Index != 1 || !strings.Contains(rep.Rejected[0].Reason, tc.reason) {
				t.Fatalf("rejected %+v, want row 1 with a reason about %q", rep.Rejected, tc.reason)
			}
			if len(rep.Rejected[0].Reason) > 200 {
				t.Errorf("reason of %d bytes: it should quote the value short", len(rep.Rejected[0].Reason))
			}
		})
	}
}

// TestDecodeAcceptsTheLargestPlausibleValues keeps the bound from biting
// real figures.
func TestDecodeAcceptsTheLargestPlausibleValues(t *testing.T) {
	body := `{"code":200,"error":null,"msg":"1 records were found","data":[{"dnis":"+57 (300) 123-4567","inbound_calls":"1,000,000,000",` +
		`"service_level_10seg":"9,336.00 %","asa":"277:46:40","ata":"1000000000"}]}`
	rep, err := Decode([]byte(body))
	if err != nil || len(rep.Rows) != 1 || len(rep.Rejected) != 0 {
		t.Fatalf("Decode = %+v, %v", rep, err)
	}
	m := rep.Rows[0].Metrics
	if m.InboundCalls.Int != 1e9 || m.ServiceLevel10sPct.Float != 9336 || m.ASASeconds.Float != 1e6 || m.ATASeconds.Float != 1e9 {
		t.Errorf("metrics %+v", m)
	}
}
