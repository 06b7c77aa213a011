package scheduler

import (
	"time"

	"github.com/skill6pub/skill6pub/state"
)

// Calendar lays windows out on the operation's local clock.
//
// A window starts whenever the local wall clock shows a multiple of Interval
// counted from local midnight: with the default 5m, at 09:00, 09:05, ... of
// the operation's own clock, which is how a contact-center analyst reads a
// report. This holds in zones whose offset is not a whole hour
// (Asia/Kolkata, Asia/Kathmandu), where aligning on UTC would start hourly
// windows at :30 or :45 past the local hour.
//
// Days of 23 or 25 hours follow from the same rule:
//   - When clocks jump forward (02:00 becomes 03:00 in America/New_York), the
//     skipped wall times start no window, and the window that would have
//     started in the gap starts at the jump instead (as cron runs a skipped
//     job). Every real jump is a multiple of 30m, so windows of 5m, 10m, 15m
//     and 30m keep their length; the day has fewer of them (276 of 5m
//     instead of 288). A daily window still starts on a day whose midnight
//     does not exist (America/Santiago jumps from 24:00 to 01:00).
//   - When clocks fall back, the repeated wall times start windows twice,
//     once per offset: 01:00-01:05 EDT and 01:00-01:05 EST are two windows,
//     told apart by the offset in their RFC 3339 bounds and by their event
//     ids. The day has more windows (300 of 5m).
//   - Only an Interval longer than the change (1h with Australia/Lord_Howe's
//     30-minute change) gives one shorter or longer window around it.
//
// Interval must divide 24h (Config.Validate checks it), so each local day
// starts a window at its midnight (or at the jump that skips it).
type Calendar struct {
	Interval    time.Duration
	SettleDelay time.Duration
	Location    *time.Location
}

// WindowAt returns the window that contains t.
func (c Calendar) WindowAt(t time.Time) Window {
	start := c.boundaryAtOrBefore(t)
	return Window{Start: start, End: c.boundaryAfter(start)}
}

// Next returns the window that follows w.
func (c Calendar) Next(w Window) Window {
	return Window{Start: w.End, End: c.boundaryAfter(w.End)}
}

// WindowFrom returns the first window that starts at or after t.
func (c Calendar) WindowFrom(t time.Time) Window {
	w := c.WindowAt(t)
	if w.Start.Before(t) {
		return c.Next(w)
	}
	return w
}

// StartingAt returns the window that starts at t: the aligned window when
// t is a window start, otherwise the stretch from t to the next window
// start. The latter bridges a change of INTERVAL: a stream whose last window
// ended off the new grid goes on with a window of its own up to it, so
// that no time is skipped and no window shares its start with a window of
// another length.
func (c Calendar) StartingAt(t time.Time) Window {
	t = t.In(c.Location)
	return Window{Start: t, End: c.boundaryAfter(t)}
}

// Unpublished returns the first window to publish at or after t, given the
// spans already published: t moved past the span that holds it, and the
// window (see StartingAt) cut short where the next span starts. Every
// instant then belongs to exactly one published window, whatever INTERVAL
// each was published with.
func (c Calendar) Unpublished(spans []state.Span, t time.Time) Window {
	if span, ok := state.SpanAt(spans, t); ok {
		t = span.End
	}
	w := c.StartingAt(t)
	if next, ok := state.NextSpanAfter(spans, w.Start); ok && next.Start.Before(w.End) {
		w.End = next.Start.In(c.Location)
	}
	return w
}

// Due returns when w may be fetched: its end plus the settle delay.
func (c Calendar) Due(w Window) time.Time { return w.End.Add(c.SettleDelay) }

// LatestComplete returns the latest window that is due at now: it has ended
// and its settle delay has passed.
func (c Calendar) LatestComplete(now time.Time) Window {
	current := c.WindowAt(now.Add(-c.SettleDelay))
	return c.WindowAt(current.Start.Add(-time.Nanosecond))
}

// Count returns how many windows start in [from, to).
func (c Calendar) Count(from, to time.Time) int {
	n := 0
	for w := c.WindowFrom(from); w.Start.Before(to); w = c.Next(w) {
		n++
	}
	return n
}

// WindowsPerDay is the number of windows of a day without a clock change.
func (c Calendar) WindowsPerDay() int { return int(24 * time.Hour / c.Interval) }

// boundaryAtOrBefore returns the latest window start at or before t.
//
// Within one period of constant UTC offset, starts are Interval apart, so the
// candidate is t minus its wall-clock remainder. When the candidate lies
// before the period began, no aligned instant lies in the period up to t: the
// answer is the period's first instant if a jump there skipped an aligned
// wall time, or else lies in the period before.
func (c Calendar) boundaryAtOrBefore(t time.Time) time.Time {
	t = t.In(c.Location)
	for {
		periodStart, _ := t.ZoneBounds()
		candidate := t.Add(-c.wallRemainder(t))
		if periodStart.IsZero() || !candidate.Before(periodStart) {
			return candidate
		}
		if c.startsAtChange(periodStart) {
			return periodStart
		}
		t = periodStart.Add(-time.Nanosecond)
	}
}

// boundaryAfter returns the earliest window start strictly after t.
func (c Calendar) boundaryAfter(t time.Time) time.Time {
	t = t.In(c.Location)
	for {
		candidate := t.Add(c.Interval - c.wallRemainder(t))
		_, periodEnd := t.ZoneBounds()
		if periodEnd.IsZero() || candidate.Before(periodEnd) {
			return candidate
		}
		if c.startsAtChange(periodEnd) {
			return periodEnd
		}
		// Continue from the first instant of the next period; it starts no
		// window, so the next start is strictly after it.
		t = periodEnd
	}
}

// startsAtChange reports whether the offset change at instant change starts
// a window: the new wall time is aligned, or the clocks jumped forward over
// an aligned wall time.
func (c Calendar) startsAtChange(change time.Time) bool {
	change = change.In(c.Location)
	_, before := change.Add(-time.Nanosecond).Zone()
	_, after := change.Zone()
	wallAfter := change.Unix() + int64(after)
	lowest := min(change.Unix()+int64(before), wallAfter)
	step := int64(c.Interval / time.Second)
	return floorDiv(wallAfter, step)*step >= lowest
}

// wallRemainder is how far t's local wall clock is past the last multiple of
// Interval. Interval divides a day, so counting from the Unix epoch in wall
// seconds is the same as counting from local midnight.
func (c Calendar) wallRemainder(t time.Time) time.Duration {
	_, offset := t.Zone()
	wallSeconds := t.Unix() + int64(offset)
	step := int64(c.Interval / time.Second)
	r := wallSeconds - floorDiv(wallSeconds, step)*step
	return time.Duration(r)*time.Second + time.Duration(t.Nanosecond())
}

// floorDiv divides rounding towards minus infinity (wall seconds before 1970
// are negative).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
