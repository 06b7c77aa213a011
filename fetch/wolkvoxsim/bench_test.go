package wolkvoxsim_test

import (
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

// big is a window of about 100,000 rows.
var big = wolkvoxsim.Config{Seed: 1, CallersPerWindow: 100000, Population: 1000000}

// BenchmarkRows100k generates a window of about 100,000 callers.
func BenchmarkRows100k(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = len(wolkvoxsim.Rows(big, "1", day, day.Add(5*time.Minute), later))
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkAppendBody100k formats a window of about 100,000 rows as wolkvox
// does.
func BenchmarkAppendBody100k(b *testing.B) {
	rows := wolkvoxsim.Rows(big, "1", day, day.Add(5*time.Minute), later)
	buf := wolkvoxsim.AppendBody(nil, rows, wolkvoxsim.Format{})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = wolkvoxsim.AppendBody(buf[:0], rows, wolkvoxsim.Format{})
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
