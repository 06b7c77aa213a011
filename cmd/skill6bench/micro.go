package main

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/internal/cputime"
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
	// cpu is the process's CPU time per operation (the stage and its
	// garbage collection), steadier than wall time on a shared machine.
	cpu time.Duration
}

func (s stageResult) perSecond() float64 {
	return float64(s.items) / (float64(s.result.NsPerOp()) / 1e9)
}

func (s stageResult) perCPUSecond() float64 { return float64(s.items) / s.cpu.Seconds() }

// stage benchmarks op, then runs it as many times again to measure its CPU
// time.
func stage(name string, items int, unit string, bytes int, op func() error) (stageResult, error) {
	var opErr error
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		if bytes > 0 {
			b.SetBytes(int64(bytes))
		}
		for b.Loop() {
			if err := op(); err != nil {
				opErr = err
			}
		}
	})
	if opErr != nil || res.N == 0 {
		return stageResult{}, errors.Join(fmt.Errorf("%s benchmark did not run", name), opErr)
	}
	before, err := cputime.Process()
	if err != nil {
		return stageResult{}, err
	}
	for range res.N {
		if err := op(); err != nil {
			return stageResult{}, err
		}
	}
	after, err := cputime.Process()
	if err != nil {
		return stageResult{}, err
	}
	return stageResult{name: name, items: items, unit: unit, bytes: bytes, result: res, cpu: (after - before) / time.Duration(res.N)}, nil
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

	decode, err := stage("decode", len(curReport.Rows), "rows", len(body), func() error {
		_, err := fetch.Decode(body)
		return err
	})
	if err != nil {
		return nil, err
	}
	diff, err := stage("diff", len(curReport.Rows), "rows", 0, func() error {
		snapshot.Diff(&prev, cur)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The diff only plans the events; they are built as the producer asks
	// for them, a chunk at a time, and encoded with one schema.Encoder per
	// goroutine, so building them counts here.
	const chunk = 4096
	encode, err := stage("encode", out.Events.Len(), "events", 0, func() error {
		var enc schema.Encoder
		for from := 0; from < out.Events.Len(); from += chunk {
			for _, e := range out.Events.Slice(from, min(from+chunk, out.Events.Len())) {
				if _, err := enc.Encode(e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []stageResult{decode, diff, encode}, nil
}
