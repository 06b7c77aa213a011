package fetch_test

import (
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/internal/cputime"
)

const benchRows = 100000

// bigWindow is a simulated window of exactly benchRows rows.
func bigWindow(b *testing.B) wolkvoxsim.Config {
	cfg := wolkvoxsim.Config{Seed: 1, CallersPerWindow: benchRows * 1.02, Population: 1000000}
	if n := len(wolkvoxsim.Rows(cfg, "1", day, day.Add(5*time.Minute), now)); n < benchRows {
		b.Fatalf("the simulator gave %d rows", n)
	}
	return cfg
}

// BenchmarkDecode100k decodes and types a 100,000-row body as wolkvox
// formats it ("28.81 %", "00:01:16") or with plain numbers.
func BenchmarkDecode100k(b *testing.B) {
	for _, format := range []struct {
		name string
		f    wolkvoxsim.Format
	}{{"wolkvox", wolkvoxsim.Format{}}, {"plain", wolkvoxsim.Format{PlainNumbers: true}}} {
		b.Run(format.name, func(b *testing.B) {
			rows := wolkvoxsim.Rows(bigWindow(b), "1", day, day.Add(5*time.Minute), now)[:benchRows]
			body := wolkvoxsim.AppendBody(nil, rows, format.f)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpuBefore, errBefore := cputime.Process()
			for b.Loop() {
				rep, err := fetch.Decode(body)
				if err != nil || len(rep.Rows) != benchRows {
					b.Fatal(len(rep.Rows), err)
				}
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			// With -cpu 1, the rows per second of CPU time (decoding and
			// its garbage collection) are the rows per second of one core.
			if cpuAfter, err := cputime.Process(); errBefore == nil && err == nil {
				b.ReportMetric(float64(benchRows)*float64(b.N)/(cpuAfter-cpuBefore).Seconds(), "rows/cpu-s")
			}
		})
	}
}

// BenchmarkFetch100k is one Fetch of a 100,000-row window from the
// simulator over loopback HTTP: generation, formatting, transfer, decoding.
func BenchmarkFetch100k(b *testing.B) {
	cfg := bigWindow(b)
	_, srv := startSim(b, cfg)
	c, err := fetch.New(config(wolkvoxsim.URL(srv.URL)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rep, err := c.Fetch(b.Context(), "1", day, day.Add(5*time.Minute))
		if err != nil || len(rep.Rows) < benchRows {
			b.Fatal(len(rep.Rows), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/fetch")
}
