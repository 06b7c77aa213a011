package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/state"
)

// benchSkill is the skill of the window scenarios.
const benchSkill = "3"

// windowResult is one window of the live pipeline, from its due time.
type windowResult struct {
	rows, events int
	wake         time.Duration // due -> fetch started (the scheduler's timer)
	fetch        time.Duration // HTTP call, body read and decode
	// fetch returned -> publish called: the diff, run while the write-ahead
	// record is saved
	diffAndSave time.Duration
	writeAhead  time.Duration // state saves between fetch and publish
	publish     time.Duration // encode + send + acks=all
	latency     time.Duration // due -> window_closed acknowledged
	commit      time.Duration // acknowledged -> state saved
	ceiling     time.Duration // kafka-go writer, same messages pre-encoded
	// records is how many records went to the events topic: the events of
	// both windows, and the ceiling's.
	records int64
}

// measureWindow publishes, with the real pipeline, the window before w and
// then w, both of about as many rows as the simulator is set to, and times
// w from its due time. The first goes out with Once (no state yet), which
// leaves the state a live run resumes from; w then goes out with Run on a
// clock that makes it due shortly after the start, exactly as in the
// service: the scheduler loads its state, sleeps to the due time, fetches,
// diffs against the previous window, publishes and commits. ceiling says
// whether to publish w's events again, pre-encoded, through a bare kafka-go
// writer with the producer's settings.
func measureWindow(ctx context.Context, simURL string, brokers []string, w time.Time, ceiling bool) (windowResult, error) {
	dir, err := os.MkdirTemp("", "skill6bench-state-")
	if err != nil {
		return windowResult{}, err
	}
	defer os.RemoveAll(dir)
	p, err := newPipeline(ctx, simURL, brokers, dir, []string{benchSkill})
	if err != nil {
		return windowResult{}, err
	}
	defer p.close(ctx)

	rec := newRecorder()
	cal := p.calendar()
	window := cal.WindowAt(w)
	previous := cal.WindowAt(window.Start.Add(-time.Nanosecond))
	due := cal.Due(window)

	once, err := p.scheduler(clock.NewAccelerated(cal.Due(previous), 1), rec)
	if err != nil {
		return windowResult{}, err
	}
	if err := once.Once(ctx, previous.Start); err != nil {
		return windowResult{}, fmt.Errorf("publish the window before: %w", err)
	}
	// Run loads the state before it sleeps to the due time: it starts
	// early enough for that, twice as long as a load takes.
	began := time.Now()
	if _, _, err := p.store.Load(state.Key{Operation: operation, SkillID: benchSkill}); err != nil {
		return windowResult{}, err
	}
	lead := 2*time.Since(began) + 200*time.Millisecond

	if ceiling {
		rec.keep = window.Start
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	rec.saved = func() {
		if !rec.get(window.Start).acked.IsZero() {
			stop() // w is committed
		}
	}
	liveClock := clock.NewAccelerated(due.Add(-lead), 1)
	realDue := liveClock.Start.Add(lead)
	live, err := p.scheduler(liveClock, rec)
	if err != nil {
		return windowResult{}, err
	}
	if err := live.Run(runCtx); err != nil {
		return windowResult{}, err
	}
	t := rec.get(window.Start)
	if t.acked.IsZero() || rec.lastSave().Before(t.acked) {
		return windowResult{}, errors.New("the live run stopped before the window was committed")
	}
	writeAhead := rec.saving(t.fetchEnd, t.publishStart)
	res := windowResult{
		rows:        t.rows,
		events:      t.events,
		wake:        t.fetchStart.Sub(realDue),
		fetch:       t.fetchEnd.Sub(t.fetchStart),
		diffAndSave: t.publishStart.Sub(t.fetchEnd),
		writeAhead:  writeAhead,
		publish:     t.acked.Sub(t.publishStart),
		latency:     t.acked.Sub(realDue),
		commit:      rec.lastSave().Sub(t.acked),
		records:     int64(rec.get(previous.Start).events + t.events),
	}
	if ceiling {
		var sent int
		res.ceiling, sent, err = measureCeiling(ctx, p, rec.kept)
		res.records += int64(sent)
		rec.kept = nil
	}
	return res, err
}

// measureCeiling publishes events, encoded beforehand, through a kafka-go
// writer with the producer's settings, and returns how long the writer took
// and how many records it sent in all.
// A few records go first to open the connections and read the metadata,
// which the pipeline's producer had done too with the window before.
func measureCeiling(ctx context.Context, p *benchPipeline, events []schema.Event) (time.Duration, int, error) {
	msgs := make([]kafka.Message, len(events))
	for i, e := range events {
		m, err := schema.Encode(e)
		if err != nil {
			return 0, 0, err
		}
		headers := make([]kafka.Header, len(m.Headers))
		for j, h := range m.Headers {
			headers[j] = kafka.Header{Key: h.Key, Value: h.Value}
		}
		msgs[i] = kafka.Message{Topic: p.cfg.Kafka.Topic, Key: m.Key, Value: m.Value, Headers: headers}
	}
	w, transport, err := producer.NewCeilingWriter(p.cfg.Kafka)
	if err != nil {
		return 0, 0, err
	}
	defer transport.CloseIdleConnections()
	defer w.Close()
	warmUp := msgs[:min(len(msgs), 10)]
	if err := w.WriteMessages(ctx, warmUp...); err != nil {
		return 0, 0, fmt.Errorf("ceiling: %w", err)
	}
	began := time.Now()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		return 0, 0, fmt.Errorf("ceiling: %w", err)
	}
	return time.Since(began), len(warmUp) + len(msgs), nil
}
