package scheduler

import (
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustParse(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWindowAtAlignsToTheLocalClock(t *testing.T) {
	tests := []struct {
		name     string
		zone     string
		interval time.Duration
		at       string
		start    string // RFC 3339 with the zone's offset
		end      string
	}{
		{"plain", "America/Bogota", 5 * time.Minute, "2026-05-04T09:07:30-05:00", "2026-05-04T09:05:00-05:00", "2026-05-04T09:10:00-05:00"},
		{"on a boundary", "America/Bogota", 5 * time.Minute, "2026-05-04T09:05:00-05:00", "2026-05-04T09:05:00-05:00", "2026-05-04T09:10:00-05:00"},
		{"instant given in UTC", "America/Bogota", 5 * time.Minute, "2026-05-04T14:07:30Z", "2026-05-04T09:05:00-05:00", "2026-05-04T09:10:00-05:00"},
		{"half-hour offset, hourly", "Asia/Kolkata", time.Hour, "2026-05-04T09:40:00+05:30", "2026-05-04T09:00:00+05:30", "2026-05-04T10:00:00+05:30"},
		{"quarter-hour offset, hourly", "Asia/Kathmandu", time.Hour, "2026-05-04T09:40:00+05:45", "2026-05-04T09:00:00+05:45", "2026-05-04T10:00:00+05:45"},
		{"quarter-hour offset, 30m", "Asia/Kathmandu", 30 * time.Minute, "2026-05-04T23:59:59+05:45", "2026-05-04T23:30:00+05:45", "2026-05-05T00:00:00+05:45"},
		{"daily", "Asia/Kolkata", 24 * time.Hour, "2026-05-04T01:00:00+05:30", "2026-05-04T00:00:00+05:30", "2026-05-05T00:00:00+05:30"},

		// America/New_York: 2026-03-08 02:00 EST jumps to 03:00 EDT; 2026-11-01 02:00 EDT falls back to 01:00 EST.
		{"spring forward, window before the jump", "America/New_York", 5 * time.Minute, "2026-03-08T01:57:00-05:00", "2026-03-08T01:55:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"spring forward, first window after", "America/New_York", 5 * time.Minute, "2026-03-08T03:00:00-04:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:05:00-04:00"},
		{"spring forward, hourly", "America/New_York", time.Hour, "2026-03-08T01:30:00-05:00", "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"fall back, first 01:00", "America/New_York", 5 * time.Minute, "2026-11-01T01:02:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:05:00-04:00"},
		{"fall back, second 01:00", "America/New_York", 5 * time.Minute, "2026-11-01T01:02:00-05:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:05:00-05:00"},
		{"fall back, last window before", "America/New_York", 5 * time.Minute, "2026-11-01T01:58:00-04:00", "2026-11-01T01:55:00-04:00", "2026-11-01T01:00:00-05:00"},
		{"fall back, hourly first", "America/New_York", time.Hour, "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"},
		{"fall back, hourly second", "America/New_York", time.Hour, "2026-11-01T01:30:00-05:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"},
		{"fall back, daily is 25h", "America/New_York", 24 * time.Hour, "2026-11-01T12:00:00-05:00", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00"},

		// America/Santiago: 2026-09-05 24:00 -04 jumps to 2026-09-06 01:00 -03; 2026-04-04 24:00 -03 falls back to 23:00 -04.
		{"midnight skipped, 5m", "America/Santiago", 5 * time.Minute, "2026-09-05T23:58:00-04:00", "2026-09-05T23:55:00-04:00", "2026-09-06T01:00:00-03:00"},
		{"midnight skipped, daily window starts at the jump", "America/Santiago", 24 * time.Hour, "2026-09-06T12:00:00-03:00", "2026-09-06T01:00:00-03:00", "2026-09-07T00:00:00-03:00"},
		{"midnight skipped, day before", "America/Santiago", 24 * time.Hour, "2026-09-05T12:00:00-04:00", "2026-09-05T00:00:00-04:00", "2026-09-06T01:00:00-03:00"},
		{"fall back at midnight, 5m", "America/Santiago", 5 * time.Minute, "2026-04-04T23:58:00-03:00", "2026-04-04T23:55:00-03:00", "2026-04-04T23:00:00-04:00"},
		{"fall back at midnight, daily is 25h", "America/Santiago", 24 * time.Hour, "2026-04-04T23:30:00-04:00", "2026-04-04T00:00:00-03:00", "2026-04-05T00:00:00-04:00"},

		// Australia/Lord_Howe: 30-minute changes. 2026-10-04 02:00 +10:30 jumps to 02:30 +11; 2026-04-05 02:00 +11 falls back to 01:30 +10:30.
		{"half-hour jump, 5m", "Australia/Lord_Howe", 5 * time.Minute, "2026-10-04T01:59:00+10:30", "2026-10-04T01:55:00+10:30", "2026-10-04T02:30:00+11:00"},
		{"half-hour jump, hourly window before", "Australia/Lord_Howe", time.Hour, "2026-10-04T01:10:00+10:30", "2026-10-04T01:00:00+10:30", "2026-10-04T02:30:00+11:00"},
		{"half-hour jump, hourly window of 30m at the jump", "Australia/Lord_Howe", time.Hour, "2026-10-04T02:40:00+11:00", "2026-10-04T02:30:00+11:00", "2026-10-04T03:00:00+11:00"},
		{"half-hour fall back, 5m", "Australia/Lord_Howe", 5 * time.Minute, "2026-04-05T01:32:00+10:30", "2026-04-05T01:30:00+10:30", "2026-04-05T01:35:00+10:30"},
		{"half-hour fall back, hourly of 90m", "Australia/Lord_Howe", time.Hour, "2026-04-05T01:40:00+10:30", "2026-04-05T01:00:00+11:00", "2026-04-05T02:00:00+10:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := Calendar{Interval: tt.interval, Location: mustLoad(t, tt.zone)}
			w := cal.WindowAt(mustParse(t, tt.at))
			if got := w.Start.Format(time.RFC3339); got != tt.start {
				t.Errorf("start = %s, want %s", got, tt.start)
			}
			if got := w.End.Format(time.RFC3339); got != tt.end {
				t.Errorf("end = %s, want %s", got, tt.end)
			}
		})
	}
}

// TestWindowsTileAYear walks every window of a year and checks that they
// follow each other without gap or overlap, that every instant maps back to
// its own window, and that each window starts on an aligned wall time or at a
// jump.
func TestWindowsTileAYear(t *testing.T) {
	zones := []string{"UTC", "America/Bogota", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Kathmandu", "Europe/London"}
	intervals := []time.Duration{5 * time.Minute, 45 * time.Minute, time.Hour, 3 * time.Hour, 24 * time.Hour}
	for _, zone := range zones {
		for _, interval := range intervals {
			loc := mustLoad(t, zone)
			cal := Calendar{Interval: interval, Location: loc}
			from := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
			to := time.Date(2027, 1, 1, 0, 0, 0, 0, loc)
			w := cal.WindowAt(from)
			if !w.Start.Equal(from) {
				t.Fatalf("%s %s: year starts a window at %s, want %s", zone, interval, w.Start, from)
			}
			for w.Start.Before(to) {
				if !w.End.After(w.Start) {
					t.Fatalf("%s %s: empty window %s", zone, interval, w)
				}
				for _, at := range []time.Time{w.Start, w.Start.Add(w.End.Sub(w.Start) / 2), w.End.Add(-time.Nanosecond)} {
					if got := cal.WindowAt(at); !got.Start.Equal(w.Start) || !got.End.Equal(w.End) {
						t.Fatalf("%s %s: WindowAt(%s) = %s, want %s", zone, interval, at, got, w)
					}
				}
				wall := time.Duration(w.Start.Hour())*time.Hour + time.Duration(w.Start.Minute())*time.Minute + time.Duration(w.Start.Second())*time.Second
				_, offset := w.Start.Zone()
				_, offsetBefore := w.Start.Add(-time.Nanosecond).Zone()
				if wall%interval != 0 && offset == offsetBefore {
					t.Fatalf("%s %s: window %s starts off the wall-clock grid without a clock change", zone, interval, w)
				}
				next := cal.Next(w)
				if !next.Start.Equal(w.End) {
					t.Fatalf("%s %s: %s is followed by %s", zone, interval, w, next)
				}
				w = next
			}
		}
	}
}

func TestWindowsPerLocalDay(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	cal := Calendar{Interval: 5 * time.Minute, Location: ny}
	day := func(y int, m time.Month, d int) (time.Time, time.Time) {
		return time.Date(y, m, d, 0, 0, 0, 0, ny), time.Date(y, m, d+1, 0, 0, 0, 0, ny)
	}
	for _, tt := range []struct {
		month time.Month
		day   int
		want  int
	}{{time.March, 7, 288}, {time.March, 8, 276}, {time.November, 1, 300}} {
		from, to := day(2026, tt.month, tt.day)
		if got := cal.Count(from, to); got != tt.want {
			t.Errorf("%s: %d windows, want %d", from.Format(time.DateOnly), got, tt.want)
		}
	}
	if got := cal.WindowsPerDay(); got != 288 {
		t.Errorf("WindowsPerDay = %d, want 288", got)
	}
}

func TestDueTimes(t *testing.T) {
	bogota := mustLoad(t, "America/Bogota")
	cal := Calendar{Interval: 5 * time.Minute, SettleDelay: 90 * time.Second, Location: bogota}
	w := cal.WindowAt(mustParse(t, "2026-05-04T09:05:00-05:00"))
	if got, want := cal.Due(w), mustParse(t, "2026-05-04T09:11:30-05:00"); !got.Equal(want) {
		t.Errorf("due = %s, want %s", got, want)
	}
	for _, tt := range []struct{ now, latestStart string }{
		{"2026-05-04T09:11:30-05:00", "2026-05-04T09:05:00-05:00"}, // due exactly now
		{"2026-05-04T09:11:29-05:00", "2026-05-04T09:00:00-05:00"}, // one second early
		{"2026-05-04T09:16:29-05:00", "2026-05-04T09:05:00-05:00"},
	} {
		if got := cal.LatestComplete(mustParse(t, tt.now)); got.Start.Format(time.RFC3339) != tt.latestStart {
			t.Errorf("LatestComplete(%s) = %s, want start %s", tt.now, got, tt.latestStart)
		}
	}
	if got := cal.WindowFrom(mustParse(t, "2026-05-04T09:05:01-05:00")); got.Start.Format(time.RFC3339) != "2026-05-04T09:10:00-05:00" {
		t.Errorf("WindowFrom after a boundary = %s", got)
	}
}
