package main

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

// truth is one published window as the simulator generated it: what the
// recipes must find, computed without the service's code.
type truth struct {
	skill string
	start time.Time
	rows  []fetch.Row // sorted by DNIS
}

// writeExpected writes, for each recipe, the output it must print, from
// the simulator's rows of every window the service published.
func writeExpected(dir string, simCfg wolkvoxsim.Config, s stream) error {
	var windows []truth
	for _, w := range s.windows {
		if w.revision != 0 {
			continue
		}
		rows := wolkvoxsim.Rows(simCfg, w.skill, w.start, w.end, time.Now())
		slices.SortFunc(rows, func(a, b fetch.Row) int { return strings.Compare(a.DNIS, b.DNIS) })
		windows = append(windows, truth{skill: w.skill, start: w.start, rows: rows})
	}
	slices.SortFunc(windows, func(a, b truth) int {
		if c := strings.Compare(a.skill, b.skill); c != 0 {
			return c
		}
		return a.start.Compare(b.start)
	})
	files := map[string]string{
		"python.expected":     pythonExpected(windows, len(s.duplicated().events)),
		"node-table.expected": tableExpected(windows),
		"duckdb.expected":     duckdbExpected(windows),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// pythonExpected: a line per complete window, then the duplicates dropped
// and the summaries' partitions.
func pythonExpected(windows []truth, duplicates int) string {
	var b strings.Builder
	for _, w := range windows {
		inbound, sl := weighted(w.rows)
		fmt.Fprintf(&b, "window %s %s rows=%d inbound=%d sl20=%s\n", w.skill, w.start.Format(time.RFC3339), len(w.rows), inbound, sl)
	}
	fmt.Fprintf(&b, "duplicates dropped: %d\n", duplicates)
	fmt.Fprintf(&b, "summaries on their key's partition: %d of %d\n", len(windows), len(windows))
	return b.String()
}

// tableExpected: each skill's latest window, as the folded table holds it.
func tableExpected(windows []truth) string {
	latest := map[string]truth{}
	var skills []string
	for _, w := range windows {
		if _, ok := latest[w.skill]; !ok {
			skills = append(skills, w.skill)
		}
		if w.start.After(latest[w.skill].start) {
			latest[w.skill] = w
		}
	}
	var b strings.Builder
	for _, s := range skills {
		w := latest[s]
		inbound, _ := weighted(w.rows)
		fmt.Fprintf(&b, "skill %s window %s dnis %d inbound %d\n", s, w.start.Format(time.RFC3339), len(w.rows), inbound)
	}
	return b.String()
}

// duckdbExpected: the Parquet partitions, the service level by hour and
// skill, the repeat callers per day and skill, in the operation's local
// time (the wall clock of window_start).
func duckdbExpected(windows []truth) string {
	byHour := map[group][]fetch.Row{}
	windowsOf := map[group]map[string]int{} // day -> DNIS -> windows
	dates := map[string]bool{}
	for _, w := range windows {
		hour := group{w.skill, w.start.Format("2006-01-02 15") + ":00"}
		byHour[hour] = append(byHour[hour], w.rows...)
		day := group{w.skill, w.start.Format("2006-01-02")}
		dates[day.period] = true
		if windowsOf[day] == nil {
			windowsOf[day] = map[string]int{}
		}
		for _, r := range w.rows {
			windowsOf[day][r.DNIS]++
		}
	}
	var b strings.Builder
	b.WriteString("parquet partitions:")
	for _, d := range slices.Sorted(maps.Keys(dates)) {
		fmt.Fprintf(&b, " window_date=%s", d)
	}
	b.WriteString("\nservice level (20 s) by hour and skill:\n")
	for _, g := range sortedGroups(byHour) {
		_, sl := weighted(byHour[g])
		fmt.Fprintf(&b, "%s %s %s\n", g.skill, g.period, sl)
	}
	b.WriteString("repeat callers per day and skill:\n")
	for _, g := range sortedGroups(windowsOf) {
		repeat := 0
		for _, n := range windowsOf[g] {
			if n >= 2 {
				repeat++
			}
		}
		fmt.Fprintf(&b, "%s %s %d\n", g.skill, g.period, repeat)
	}
	return b.String()
}

// weighted returns the inbound calls of rows and their service level within
// 20 s weighted by inbound calls, to the hundredth, rounded half up, in
// whole numbers so that every recipe gets the same digits: the rows'
// percentages in hundredths times their calls, summed, over the calls.
func weighted(rows []fetch.Row) (inbound int64, sl20 string) {
	var num, den int64
	for _, r := range rows {
		calls := r.Metrics.InboundCalls
		if calls.Valid {
			inbound += calls.Int
		}
		if sl := r.Metrics.ServiceLevel20sPct; sl.Valid && calls.Valid && calls.Int > 0 {
			num += int64(math.Round(sl.Float*100)) * calls.Int
			den += calls.Int
		}
	}
	if den == 0 {
		return inbound, "-"
	}
	hundredths := (2*num + den) / (2 * den)
	return inbound, fmt.Sprintf("%d.%02d", hundredths/100, hundredths%100)
}

// group is a skill and a period (an hour or a day).
type group struct{ skill, period string }

func sortedGroups[V any](m map[group]V) []group {
	return slices.SortedFunc(maps.Keys(m), func(a, b group) int {
		if c := strings.Compare(a.skill, b.skill); c != 0 {
			return c
		}
		return strings.Compare(a.period, b.period)
	})
}
