package main

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
)

// stageResult is one stage of the pipeline benchmarked alone on one window.
type stageResult struct {
	name   string
	items  int    // rows or events per operation
	unit   string // "rows" or "events"
	bytes  int    // input bytes per operation (decode), or 0
	result testing.BenchmarkResult
}

func (s stageResult) perSecond() float64 {
	return float64(s.items) / (float64(s.result.NsPerOp()) / 1e9)
}

// measureStages benchmarks decode, diff and encode alone on the window w
// (about rows rows) and the window before it, as the simulator serves them,
// each on the calling goroutine (encode as one goroutine does: the producer
// spreads it over every CPU).
func measureStages(w, previous time.Time, loc *time.Location, rows int) ([]stageResult, error) {
	cfg := wolkvoxsim.Config{Seed: 6, Location: loc, CallersPerWindow: float64(rows)}
	interval := w.Sub(previous)
	report := func(start time.Time) (fetch.Report, []byte, error) {
		body := wolkvoxsim.AppendBody(nil, wolkvoxsim.Rows(cfg, benchSkill, start, start.Add(interval), time.Now()), wolkvoxsim.Format{})
		rep, err := fetch.Decode(body)
		return rep, body, err
	}
	prevReport, _, err := report(previous)
	if err != nil {
		return nil, err
	}
	curReport, body, err := report(w)
	if err != nil {
		return nil, err
	}
	window := func(start time.Time, rep fetch.Report) snapshot.Window {
		return snapshot.Window{Operation: operation, SkillID: benchSkill, Start: start, End: start.Add(interval),
			FetchedAt: start.Add(interval + time.Minute), Producer: schema.Producer{Name: "skill6bench", Version: "0"}, Report: rep}
	}
	prev := snapshot.Diff(nil, window(previous, prevReport)).Snapshot
	cur := window(w, curReport)
	out := snapshot.Diff(&prev, cur)

	var decodeErr, encodeErr error
	stages := []stageResult{
		{name: "decode", items: len(curReport.Rows), unit: "rows", bytes: len(body), result: testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := fetch.Decode(body); err != nil {
					decodeErr = err
				}
			}
		})},
		{name: "diff", items: len(curReport.Rows), unit: "rows", result: testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				snapshot.Diff(&prev, cur)
			}
		})},
		{name: "encode", items: len(out.Events), unit: "events", result: testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, e := range out.Events {
					if _, err := schema.Encode(e); err != nil {
						encodeErr = err
					}
				}
			}
		})},
	}
	for _, s := range stages {
		if s.result.N == 0 {
			return nil, fmt.Errorf("%s benchmark did not run", s.name)
		}
	}
	if err := errors.Join(decodeErr, encodeErr); err != nil {
		return nil, err
	}
	return stages, nil
}
