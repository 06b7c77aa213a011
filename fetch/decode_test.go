package fetch

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skill6pub/skill6pub/schema"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeOK(t *testing.T) {
	rep, err := Decode(readTestdata(t, "ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{DNIS: "3001234567", Metrics: schema.Metrics{
			InboundCalls: schema.IntOf(4), AnswerCalls: schema.IntOf(3), AbandonCalls: schema.IntOf(1),
			ServiceLevel10sPct: schema.FloatOf(50), ServiceLevel20sPct: schema.FloatOf(75), ServiceLevel30sPct: schema.FloatOf(75),
			AbandonPct: schema.FloatOf(25), ASASeconds: schema.FloatOf(14), ATASeconds: schema.FloatOf(76),
		}},
		{DNIS: "6014441234", Metrics: schema.Metrics{
			InboundCalls: schema.IntOf(1), AnswerCalls: schema.IntOf(1), AbandonCalls: schema.IntOf(0),
			ServiceLevel10sPct: schema.FloatOf(100), ServiceLevel20sPct: schema.FloatOf(100), ServiceLevel30sPct: schema.FloatOf(100),
			AbandonPct: schema.FloatOf(0), ASASeconds: schema.FloatOf(8), ATASeconds: schema.NullFloat{},
		}},
		{DNIS: "3109876543", Metrics: schema.Metrics{
			InboundCalls: schema.IntOf(1204), AnswerCalls: schema.IntOf(1100), AbandonCalls: schema.IntOf(104),
			ServiceLevel10sPct: schema.FloatOf(9336), ServiceLevel20sPct: schema.FloatOf(28.81), ServiceLevel30sPct: schema.NullFloat{},
			AbandonPct: schema.FloatOf(8.64), ASASeconds: schema.FloatOf(76), ATASeconds: schema.FloatOf(360001),
		}},
	}
	if !reflect.DeepEqual(rep.Rows, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", rep.Rows, want)
	}
	if len(rep.Rejected) != 0 || rep.NoData || rep.MaybeTruncated {
		t.Errorf("report flags: %+v", rep)
	}
}

func TestDecodeRejectsRowsKeepsOthers(t *testing.T) {
	body := readTestdata(t, "rows_rejected.json")
	rep, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	var dnis []string
	for _, r := range rep.Rows {
		dnis = append(dnis, r.DNIS)
	}
	if want := []string{"3001234567", "3001234571"}; !reflect.DeepEqual(dnis, want) {
		t.Errorf("kept rows %v, want %v", dnis, want)
	}
	// JSON numbers and null are accepted; null is no value.
	m := rep.Rows[1].Metrics
	if m.InboundCalls != schema.IntOf(3) || m.AnswerCalls.Valid || m.ServiceLevel10sPct != schema.FloatOf(0) ||
		m.AbandonPct != schema.FloatOf(33.33) || m.ASASeconds.Valid || m.ATASeconds != schema.FloatOf(40) {
		t.Errorf("row with numbers and nulls: %+v", m)
	}
	wantRejected := []struct {
		index  int
		reason string
		raw    string
	}{
		{1, `inbound_calls "two": not a number`, `"dnis":"3001234568"`},
		{2, `service_level_10seg "28,81 %": commas must separate thousands`, `"28,81 %"`},
		{3, "the row is a string, want an object", `"3001234570"`},
		{4, "the row has no dnis", `{"inbound_calls":"1"}`},
	}
	if len(rep.Rejected) != len(wantRejected) {
		t.Fatalf("rejected %d rows, want %d: %+v", len(rep.Rejected), len(wantRejected), rep.Rejected)
	}
	for i, w := range wantRejected {
		got := rep.Rejected[i]
		if got.Index != w.index || !strings.HasPrefix(got.Reason, w.reason) || !bytes.Contains(got.Raw, []byte(w.raw)) {
			t.Errorf("rejected[%d] = {%d %q %s}, want index %d, reason %q, raw containing %s",
				i, got.Index, got.Reason, got.Raw, w.index, w.reason, w.raw)
		}
		if !bytes.Contains(body, got.Raw) {
			t.Errorf("rejected[%d].Raw is not the row as received: %s", i, got.Raw)
		}
	}
}

func TestDecodeEmptyAndSpecialBodies(t *testing.T) {
	tests := []struct {
		file   string
		rows   int
		noData bool
	}{
		{"code_string.json", 1, false},
		{"data_null.json", 0, false},
		{"data_missing.json", 0, false},
		{"data_empty.json", 0, false},
		{"no_data_under_200.json", 0, true},
		{"escapes.json", 1, false},
	}
	for _, tt := range tests {
		rep, err := Decode(readTestdata(t, tt.file))
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if len(rep.Rows) != tt.rows || rep.NoData != tt.noData || len(rep.Rejected) != 0 {
			t.Errorf("%s: %d rows, %d rejected, NoData %v; want %d rows, NoData %v",
				tt.file, len(rep.Rows), len(rep.Rejected), rep.NoData, tt.rows, tt.noData)
		}
	}
	rep, _ := Decode(readTestdata(t, "escapes.json"))
	if r := rep.Rows[0]; r.DNIS != "30012345" || r.Metrics.InboundCalls != schema.IntOf(2) ||
		r.Metrics.ServiceLevel10sPct != schema.FloatOf(100) {
		t.Errorf("escaped row typed as %+v", r)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		file   string
		kind   Kind
		status int
		msg    string
	}{
		{"truncated.json", KindMalformed, 0, "not a skill_6 response"},
		{"wrong_types.json", KindMalformed, 0, "data is an object"},
		{"code_missing.json", KindMalformed, 0, "no code"},
		{"not_json.txt", KindMalformed, 0, "not a skill_6 response"},
		{"data_missing_with_rows.json", KindMalformed, 0, "announces 12 rows"},
		{"quota_under_200.json", KindQuota, 403, "TOKEN LIMIT EXCEEDED"},
	}
	for _, tt := range tests {
		_, err := Decode(readTestdata(t, tt.file))
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("%s: error %v is not an *Error", tt.file, err)
			continue
		}
		if fe.Kind != tt.kind || fe.Status != tt.status || !strings.Contains(fe.Error(), tt.msg) || !errors.Is(err, tt.kind) {
			t.Errorf("%s: got kind %v status %d %q; want kind %v status %d containing %q",
				tt.file, fe.Kind, fe.Status, fe.Error(), tt.kind, tt.status, tt.msg)
		}
	}
}

func TestDecodeSyntax(t *testing.T) {
	bad := []string{
		``, ` `, `[]`, `null`, `{`, `{"code":200`, `{"code":200,}`, `{"code":200} x`, `{"code":200}{}`,
		`{"code":2OO}`, `{"code":200,"data":[{"dnis":"1"},]}`, `{"code":200,"data":[{"dnis":"1",}]}`,
		`{"code":200,"data":[{"dnis":"1\x"}]}`, "{\"code\":200,\"msg\":\"a\nb\"}", `{"code":200,"data":[01]}`,
		`{"code":200,"data":[1.]}`, `{"code":200,"data":[-]}`, `{"code":200,"data":[tru]}`, `{"code":200,"x":"\u12"}`,
		`{"code":200,"data":[{"dnis"}]}`, `{"code":200,"data":[{"dnis":}]}`, `{'code':200}`,
	}
	for _, b := range bad {
		_, err := Decode([]byte(b))
		if !errors.Is(err, KindMalformed) {
			t.Errorf("Decode(%q) = %v, want a malformed error", b, err)
		}
	}
	good := []string{
		`{"code":200}`, ` {"code" : 200 , "data" : [ ] } `, `{"code":200,"x":{"a":[1,-2.5e+3,true,false,null,"\u00e9"]}}`,
		`{"code":"200","data":[{"dnis":""}]}`, `{"code":200,"code":200,"data":[{"dnis":"1"}],"data":[]}`,
	}
	for _, b := range good {
		if _, err := Decode([]byte(b)); err != nil {
			t.Errorf("Decode(%q) = %v, want no error", b, err)
		}
	}
}

func TestDecodeFlagsRowCap(t *testing.T) {
	for _, n := range []int{RowCap - 1, RowCap} {
		var b bytes.Buffer
		b.WriteString(`{"code":200,"data":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"dnis":"1"}`)
		}
		b.WriteString(`]}`)
		rep, err := Decode(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != n || rep.MaybeTruncated != (n >= RowCap) {
			t.Errorf("%d rows: got %d rows, MaybeTruncated %v", n, len(rep.Rows), rep.MaybeTruncated)
		}
	}
}
