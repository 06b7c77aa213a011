package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

// backfillResult is one backfill through the real pipeline.
type backfillResult struct {
	windows, calls int
	wall           time.Duration
	bound          time.Duration // calls x the simulator's latency
	fetching       time.Duration // time spent inside Fetch, summed
	// timerBound is calls x how long a timer of the simulator's latency
	// really takes on this machine, measured before the backfill: the
	// simulator cannot answer faster.
	timerBound time.Duration
}

// measureBackfill backfills windows windows of skills skills from from, with
// the simulator answering each call after latency, and times it.
func measureBackfill(ctx context.Context, h *harness, from time.Time, windows, skills int, latency time.Duration) (backfillResult, error) {
	h.sim.Update(func(c *wolkvoxsim.Config) {
		c.CallersPerWindow = 0 // the default, 40 rows
		c.Latency = latency
	})
	defer h.sim.Update(func(c *wolkvoxsim.Config) { c.Latency = 0 })

	dir, err := os.MkdirTemp("", "skill6bench-state-")
	if err != nil {
		return backfillResult{}, err
	}
	defer os.RemoveAll(dir)
	ids := make([]string, skills)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 1)
	}
	p, err := newPipeline(ctx, h.simURL, h.brokers, dir, ids)
	if err != nil {
		return backfillResult{}, err
	}
	defer p.close(ctx)
	rec := newRecorder()
	s, err := p.scheduler(clock.Real{}, rec)
	if err != nil {
		return backfillResult{}, err
	}
	start := p.calendar().WindowAt(from).Start
	end := start.Add(time.Duration(windows) * p.cfg.Schedule.Interval)

	timer, err := measureTimer(ctx, latency)
	if err != nil {
		return backfillResult{}, err
	}
	callsBefore := h.sim.Stats().Requests
	began := time.Now()
	if err := s.Backfill(ctx, start, end, ids, nil); err != nil {
		return backfillResult{}, err
	}
	wall := time.Since(began)
	calls := h.sim.Stats().Requests - callsBefore
	return backfillResult{
		windows:    windows * skills,
		calls:      calls,
		wall:       wall,
		bound:      time.Duration(calls) * latency,
		fetching:   rec.fetchTime(),
		timerBound: time.Duration(calls) * timer,
	}, nil
}

// timerSamples is how many waits measureTimer averages.
const timerSamples = 50

// measureTimer returns how long the simulator's wait of d really lasts on
// average (timers fire late by the kernel's timer slack and the scheduler's
// latency).
func measureTimer(ctx context.Context, d time.Duration) (time.Duration, error) {
	began := time.Now()
	for range timerSamples {
		if err := (clock.Real{}).Sleep(ctx, d); err != nil {
			return 0, err
		}
	}
	return time.Since(began) / timerSamples, nil
}
