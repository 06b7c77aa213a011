package fetch

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecode checks Decode against encoding/json: it accepts exactly the
// valid JSON it can judge, and the rows and rejected rows it returns are the
// elements of the data array, in order, each kept or rejected whole.
// Seeds: every body in testdata/ and testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := Decode(body)
		valid := json.Valid(body)
		var se *syntaxError
		switch {
		case err == nil && !valid:
			t.Fatalf("accepted invalid JSON")
		case errors.As(err, &se) && valid:
			t.Fatalf("refused valid JSON: %v", err)
		}
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Kind == 0 || fe.Msg == "" {
				t.Fatalf("error without a kind or a message: %#v", err)
			}
			return
		}
		for _, r := range rep.Rows {
			m := r.Metrics
			for _, v := range []int64{m.InboundCalls.Int, m.AnswerCalls.Int, m.AbandonCalls.Int} {
				if v < 0 {
					t.Fatalf("negative count in %+v", r)
				}
			}
			for _, v := range []float64{m.ServiceLevel10sPct.Float, m.ServiceLevel20sPct.Float, m.ServiceLevel30sPct.Float,
				m.AbandonPct.Float, m.ASASeconds.Float, m.ATASeconds.Float} {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("value out of range in %+v", r)
				}
			}
		}
		if rep.NoData {
			if len(rep.Rows)+len(rep.Rejected) != 0 {
				t.Fatal("NoData with rows")
			}
			return
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatalf("Decode accepted what encoding/json refuses: %v", err)
		}
		var elems []json.RawMessage
		if data, ok := top["data"]; ok && len(data) > 0 && data[0] == '[' {
			if err := json.Unmarshal(data, &elems); err != nil {
				t.Fatal(err)
			}
		}
		if len(rep.Rows)+len(rep.Rejected) != len(elems) || rep.MaybeTruncated != (len(elems) >= RowCap) {
			t.Fatalf("%d rows + %d rejected from %d elements", len(rep.Rows), len(rep.Rejected), len(elems))
		}
		rejected := map[int]bool{}
		for _, r := range rep.Rejected {
			if r.Index >= len(elems) || !bytes.Equal(r.Raw, elems[r.Index]) || r.Reason == "" || rejected[r.Index] {
				t.Fatalf("rejected row %d is not element %d as received: %s (%s)", r.Index, r.Index, r.Raw, r.Reason)
			}
			rejected[r.Index] = true
		}
		next := 0
		for i, elem := range elems {
			if rejected[i] {
				continue
			}
			var row map[string]json.RawMessage
			if err := json.Unmarshal(elem, &row); err != nil {
				t.Fatalf("kept element %d is not an object: %s", i, elem)
			}
			raw := row["dnis"]
			want := string(raw) // a number
			var s string
			if json.Unmarshal(raw, &s) == nil {
				want = string(trimBlanks([]byte(s)))
			}
			if got := rep.Rows[next].DNIS; got != want {
				t.Fatalf("row from element %d has dnis %q, want %q", i, got, want)
			}
			next++
		}
	})
}

// FuzzParseDecimal checks the number reader against strconv: whatever it
// accepts, strconv reads (without the thousands commas) to the same value.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"28.81", "9,336.00", "0", "1,000,000.5", "123456789012345678901234", "0.1234567890123456789", "28,81", "1e5", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, problem := parseDecimal([]byte(s))
		if problem != "" {
			return
		}
		want, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
		if err != nil || got != want {
			t.Fatalf("parseDecimal(%q) = %v; strconv gives %v, %v", s, got, want, err)
		}
	})
}
