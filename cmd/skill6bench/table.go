package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// table is the figures of one run, printed as a Markdown table.
type table struct {
	rows [][4]string // figure, measured, target, detail
}

func (t *table) add(figure, measured, target, detail string) {
	t.rows = append(t.rows, [4]string{figure, measured, target, detail})
}

func (t *table) print(w io.Writer) {
	head := [4]string{"figure", "measured", "target", "detail"}
	widths := [4]int{}
	for _, r := range append([][4]string{head}, t.rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	line := func(r [4]string) {
		fmt.Fprint(w, "|")
		for i, c := range r {
			fmt.Fprintf(w, " %-*s |", widths[i], c)
		}
		fmt.Fprintln(w)
	}
	line(head)
	var rule [4]string
	for i := range rule {
		rule[i] = strings.Repeat("-", widths[i])
	}
	line(rule)
	for _, r := range t.rows {
		line(r)
	}
}

// window adds figures 1 and 2 of one window size.
func (t *table) window(rows int, runs []windowResult, latency, throughput bool) {
	pick := func(f func(windowResult) time.Duration) time.Duration {
		ds := make([]time.Duration, len(runs))
		for i, r := range runs {
			ds[i] = f(r)
		}
		return median(ds)
	}
	first := runs[0]
	size := fmt.Sprintf("%s rows (%s events)", count(first.rows), count(first.events))
	if latency {
		lat := pick(func(r windowResult) time.Duration { return r.latency })
		lo, hi := spread(runs, func(r windowResult) time.Duration { return r.latency })
		t.add("1 window latency, due -> window_closed acked, "+size,
			fmt.Sprintf("%s (%s-%s)", ms(lat), ms(lo), ms(hi)), "",
			fmt.Sprintf("medians: wake %s, fetch %s, diff while the write-ahead record is saved %s (the save %s), publish %s; commit save %s after the ack",
				ms(pick(func(r windowResult) time.Duration { return r.wake })),
				ms(pick(func(r windowResult) time.Duration { return r.fetch })),
				ms(pick(func(r windowResult) time.Duration { return r.diffAndSave })),
				ms(pick(func(r windowResult) time.Duration { return r.writeAhead })),
				ms(pick(func(r windowResult) time.Duration { return r.publish })),
				ms(pick(func(r windowResult) time.Duration { return r.commit }))))
	}
	if throughput {
		// Ratios x 1e6 as durations, to reuse median.
		ratios, publishRatios := make([]time.Duration, len(runs)), make([]time.Duration, len(runs))
		for i, r := range runs {
			ratios[i] = time.Duration(float64(r.ceiling) / float64(r.latency) * 1e6)
			publishRatios[i] = time.Duration(float64(r.ceiling) / float64(r.publish) * 1e6)
		}
		pipeline := pick(func(r windowResult) time.Duration { return r.latency })
		ceiling := pick(func(r windowResult) time.Duration { return r.ceiling })
		target := ""
		if rows >= 100000 {
			target = ">= 0.85"
		}
		t.add("2 throughput vs ceiling, "+size,
			fmt.Sprintf("%.2f", float64(median(ratios))/1e6), target,
			fmt.Sprintf("pipeline %s events/s (due -> acked); ceiling %s events/s (kafka-go writer, %s for the same messages pre-encoded); the publish step alone %.2f of the ceiling",
				rate(first.events, pipeline), rate(first.events, ceiling), ms(ceiling), float64(median(publishRatios))/1e6))
	}
}

func spread(runs []windowResult, f func(windowResult) time.Duration) (lo, hi time.Duration) {
	lo, hi = f(runs[0]), f(runs[0])
	for _, r := range runs[1:] {
		lo, hi = min(lo, f(r)), max(hi, f(r))
	}
	return lo, hi
}

func (t *table) backfill(latency time.Duration, r backfillResult) {
	t.add(fmt.Sprintf("3 backfill, %s windows x %s per call", count(r.windows), latency),
		fmt.Sprintf("%.3f x API bound", r.wall.Seconds()/r.bound.Seconds()), "<= 1.05",
		fmt.Sprintf("wall %s, bound %s (%d calls x %s); %.3f x the timer bound (%s: a %s timer takes %s here); %.3f x the time spent in fetches (%s)",
			ms(r.wall), ms(r.bound), r.calls, latency,
			r.wall.Seconds()/r.timerBound.Seconds(), ms(r.timerBound), latency, ms(r.timerBound/time.Duration(max(r.calls, 1))),
			r.wall.Seconds()/r.fetching.Seconds(), ms(r.fetching)))
}

func (t *table) rss(rows int, r rssResult) {
	t.add(fmt.Sprintf("4 peak RSS, %s-row window", count(rows)),
		fmt.Sprintf("%.0f MB", float64(r.peakKB)/1024), "< 200 MB",
		fmt.Sprintf("VmHWM of a child process running the pipeline over %s rows (%s events) diffed against a window of the same size",
			count(r.rows), count(r.events)))
}

func (t *table) stages(stages []stageResult) {
	for _, s := range stages {
		detail := fmt.Sprintf("%s wall, %s CPU per window of %s %s, %s allocated in %s allocations",
			ms(time.Duration(s.result.NsPerOp())), ms(s.cpu), count(s.items), s.unit,
			megabytes(s.result.AllocedBytesPerOp()), count(int(s.result.AllocsPerOp())))
		if s.bytes > 0 {
			detail += fmt.Sprintf(", %.0f MB/s of body", float64(s.bytes)/(float64(s.result.NsPerOp())/1e9)/1e6)
		}
		t.add("5 "+s.name+", one goroutine", fmt.Sprintf("%s %s/cpu-s", count(int(s.perCPUSecond())), s.unit), "",
			fmt.Sprintf("%s %s/s wall; ", count(int(s.perSecond())), s.unit)+detail)
	}
}

// count formats n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func rate(n int, d time.Duration) string { return count(int(float64(n) / d.Seconds())) }

func megabytes(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
