package fetch

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/skill6pub/skill6pub/schema"
)

func TestParseCount(t *testing.T) {
	tests := []struct {
		in      string
		want    schema.NullInt
		problem bool
	}{
		{"12", schema.IntOf(12), false},
		{"0", schema.IntOf(0), false},
		{" 7 ", schema.IntOf(7), false},
		{"\t7\n", schema.IntOf(7), false},
		{"1,234", schema.IntOf(1234), false},
		{"1,234,567", schema.IntOf(1234567), false},
		{"", schema.NullInt{}, false},
		{"   ", schema.NullInt{}, false},
		{"\u00a0", schema.NullInt{}, false},
		{"12.5", schema.NullInt{}, true},
		{"12.00", schema.NullInt{}, true},
		{"-3", schema.NullInt{}, true},
		{"abc", schema.NullInt{}, true},
		{"1,23", schema.NullInt{}, true},
		{",123", schema.NullInt{}, true},
		{"1 2", schema.NullInt{}, true},
		{"99999999999999999999", schema.NullInt{}, true},
		{"0x10", schema.NullInt{}, true},
		{"1e3", schema.NullInt{}, true},
		{"+5", schema.NullInt{}, true},
	}
	for _, tt := range tests {
		got, problem := parseCount([]byte(tt.in))
		if got != tt.want || (problem != "") != tt.problem {
			t.Errorf("parseCount(%q) = %+v, %q; want %+v, problem %v", tt.in, got, problem, tt.want, tt.problem)
		}
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in      string
		want    schema.NullFloat
		problem bool
	}{
		{"28.81 %", schema.FloatOf(28.81), false},
		{"28.81%", schema.FloatOf(28.81), false},
		{"28.81", schema.FloatOf(28.81), false},
		{"  28.81  %  ", schema.FloatOf(28.81), false},
		{"28.81\u00a0%", schema.FloatOf(28.81), false},
		{"9,336.00 %", schema.FloatOf(9336), false},
		{"1,000,000.5%", schema.FloatOf(1000000.5), false},
		{"100", schema.FloatOf(100), false},
		{"0.00 %", schema.FloatOf(0), false},
		{"0", schema.FloatOf(0), false},
		{"", schema.NullFloat{}, false},
		{" ", schema.NullFloat{}, false},
		{"%", schema.NullFloat{}, true},
		{" % ", schema.NullFloat{}, true},
		{"28,81 %", schema.NullFloat{}, true}, // a decimal comma: refused, not misread as 2881
		{"9,33.00", schema.NullFloat{}, true},
		{"-1 %", schema.NullFloat{}, true},
		{"28.81 %%", schema.NullFloat{}, true},
		{"28.", schema.NullFloat{}, true},
		{".5", schema.NullFloat{}, true},
		{"1.2.3", schema.NullFloat{}, true},
		{"NaN", schema.NullFloat{}, true},
		{"Inf", schema.NullFloat{}, true},
		{"n/a", schema.NullFloat{}, true},
		{"1e2", schema.NullFloat{}, true},
		{"12345678901234567890123456789012345678901", schema.NullFloat{}, true},
	}
	for _, tt := range tests {
		got, problem := parsePercent([]byte(tt.in))
		if got != tt.want || (problem != "") != tt.problem {
			t.Errorf("parsePercent(%q) = %+v, %q; want %+v, problem %v", tt.in, got, problem, tt.want, tt.problem)
		}
	}
}

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in      string
		want    schema.NullFloat
		problem bool
	}{
		{"00:01:16", schema.FloatOf(76), false},
		{"01:00:00", schema.FloatOf(3600), false},
		{"100:00:01", schema.FloatOf(360001), false},
		{"0:01:16", schema.FloatOf(76), false},
		{"01:16", schema.FloatOf(76), false},
		{"00:00:16.5", schema.FloatOf(16.5), false},
		{" 00:01:16 ", schema.FloatOf(76), false},
		{"76", schema.FloatOf(76), false},
		{"76.25", schema.FloatOf(76.25), false},
		{"1,076", schema.FloatOf(1076), false},
		{"", schema.NullFloat{}, false},
		{"00:60:00", schema.NullFloat{}, true},
		{"00:00:60", schema.NullFloat{}, true},
		{"00:01:", schema.NullFloat{}, true},
		{":01:16", schema.NullFloat{}, true},
		{"01:16:", schema.NullFloat{}, true},
		{"1:2:3:4", schema.NullFloat{}, true},
		{"00:1a:16", schema.NullFloat{}, true},
		{"00:001:16", schema.NullFloat{}, true},
		{"-00:01:16", schema.NullFloat{}, true},
		{"00:01:-1", schema.NullFloat{}, true},
		{"-5", schema.NullFloat{}, true},
		{"5s", schema.NullFloat{}, true},
		{"1234567890:00:00", schema.NullFloat{}, true},
	}
	for _, tt := range tests {
		got, problem := parseSeconds([]byte(tt.in))
		if got != tt.want || (problem != "") != tt.problem {
			t.Errorf("parseSeconds(%q) = %+v, %q; want %+v, problem %v", tt.in, got, problem, tt.want, tt.problem)
		}
	}
}

// TestParseDecimalMatchesStrconv: the fast path must give strconv's value,
// or a figure could change between a wolkvox body and a replay.
func TestParseDecimalMatchesStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		whole := strconv.FormatUint(r.Uint64N(1<<uint(r.IntN(64))), 10)
		s := whole
		if r.IntN(4) > 0 {
			s += "." + strconv.FormatUint(r.Uint64()|1<<63, 10)[:1+r.IntN(18)]
		}
		got, problem := parseDecimal([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		if problem != "" || err != nil || got != want {
			t.Fatalf("parseDecimal(%q) = %v, %q; strconv gives %v", s, got, problem, want)
		}
	}
}
