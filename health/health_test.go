package health_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/health"
)

var start = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

const (
	interval = 5 * time.Minute
	settle   = time.Minute
	limit    = 2*interval + settle // 11m
)

func newTracker(skills ...string) (*health.Tracker, *clock.Fake) {
	clk := clock.NewFake(start)
	return health.New(clk, skills, interval, settle), clk
}

// wantNotReady checks that Ready fails and that its message holds every
// fragment, one per skill that is not ready.
func wantNotReady(t *testing.T, tr *health.Tracker, fragments ...string) {
	t.Helper()
	err := tr.Ready()
	if err == nil {
		t.Fatalf("Ready() = nil, want an error holding %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("Ready() = %q, want it to hold %q", err, f)
		}
	}
}

func TestNeverPublishedIsNotReadyAfterTheLimit(t *testing.T) {
	tr, clk := newTracker("12")
	tr.Started("12", time.Time{})
	clk.Advance(limit)
	if err := tr.Ready(); err != nil {
		t.Fatalf("at the limit: Ready() = %v, want nil", err)
	}
	clk.Advance(time.Second)
	wantNotReady(t, tr, "skill 12: nothing published in the 11m1s since the start")
}

// A skill the scheduler never got to (stuck before its first window) counts
// from the tracker's own start.
func TestConfiguredSkillNeverStartedIsNotReady(t *testing.T) {
	tr, clk := newTracker("3", "7")
	tr.Started("3", time.Time{})
	tr.Published("3", start.Add(10*time.Minute))
	clk.Advance(12 * time.Minute)
	err := tr.Ready()
	if err == nil || strings.Contains(err.Error(), "skill 3") || !strings.Contains(err.Error(), "skill 7: nothing published") {
		t.Fatalf("Ready() = %v, want only skill 7 not ready", err)
	}
}

// The case of issue 15: every fetch fails (a wrong token) on a fresh
// deployment: /readyz must fail with the skill and the reason.
func TestEveryFetchFailingNamesTheSkillAndTheReason(t *testing.T) {
	tr, clk := newTracker("12")
	tr.Started("12", time.Time{})
	window := start.Add(-6 * time.Minute)
	for attempt := 1; attempt <= 14; attempt++ {
		tr.Failed("12", window, errors.New("wolkvox skill_6: auth (HTTP 403): wolkvox rejected the token"), attempt)
		clk.Advance(time.Minute)
	}
	wantNotReady(t, tr, "skill 12", "nothing published in the 14m0s since the start",
		"window 2026-11-23T09:54:00Z failed 14 times, last: wolkvox skill_6: auth (HTTP 403): wolkvox rejected the token")
}

func TestStaleLastWindowIsNotReady(t *testing.T) {
	tr, clk := newTracker("12")
	tr.Started("12", start.Add(-5*time.Minute))
	clk.Advance(limit - 5*time.Minute)
	if err := tr.Ready(); err != nil {
		t.Fatalf("Ready() = %v, want nil", err)
	}
	clk.Advance(time.Second)
	wantNotReady(t, tr, "skill 12: the last published window ended 11m1s ago")
	tr.Published("12", clk.Now())
	if err := tr.Ready(); err != nil {
		t.Fatalf("after a publish: Ready() = %v, want nil", err)
	}
}

// A window that keeps failing makes the skill not ready after an interval,
// even while the last published window is still recent.
func TestWindowFailingForAnIntervalIsNotReady(t *testing.T) {
	tr, clk := newTracker("12")
	tr.Started("12", start)
	w := start
	tr.Failed("12", w, errors.New("kafka publish: 3 of 3 records not acknowledged"), 1)
	clk.Advance(interval - time.Second)
	tr.Failed("12", w, errors.New("kafka publish: 3 of 3 records not acknowledged"), 2)
	if err := tr.Ready(); err != nil {
		t.Fatalf("failing for less than an interval: Ready() = %v, want nil", err)
	}
	clk.Advance(time.Second)
	wantNotReady(t, tr, "skill 12: a window has kept failing for 5m0s", "failed 2 times, last: kafka publish")
	tr.Published("12", w.Add(interval))
	if err := tr.Ready(); err != nil {
		t.Fatalf("once the window is published: Ready() = %v, want nil", err)
	}
}

// A new failing window restarts the count: the previous one went out.
func TestFailureOfTheNextWindowStartsAfresh(t *testing.T) {
	tr, clk := newTracker("12")
	tr.Started("12", start)
	tr.Failed("12", start, errors.New("boom"), 1)
	clk.Advance(4 * time.Minute)
	tr.Failed("12", start.Add(interval), errors.New("boom"), 1)
	clk.Advance(2 * time.Minute)
	if err := tr.Ready(); err != nil {
		t.Fatalf("Ready() = %v, want nil: the second window failed for 2m only", err)
	}
}

func TestNilTrackerIsReadyAndHearsNothing(t *testing.T) {
	var tr *health.Tracker
	tr.Started("1", time.Time{})
	tr.Published("1", start)
	tr.Failed("1", start, errors.New("x"), 1)
	if err := tr.Ready(); err != nil {
		t.Fatal(err)
	}
}

// Freshness is computed when scraped: two scrapes a minute apart differ by
// a minute although nothing told the tracker anything in between, and a
// skill that never published has a series from the start.
func TestFreshnessIsComputedWhenScraped(t *testing.T) {
	tr, clk := newTracker("3", "7")
	tr.Started("3", start.Add(-2*time.Minute))
	const scrape = `
# HELP skill6pub_freshness_seconds Seconds between now (when scraped) and the end of the last published window, by skill; counted from the start while nothing was published.
# TYPE skill6pub_freshness_seconds gauge
skill6pub_freshness_seconds{skill="3"} %d
skill6pub_freshness_seconds{skill="7"} %d
`
	for _, s := range []struct {
		after          time.Duration
		skill3, skill7 int
	}{{30 * time.Second, 150, 30}, {time.Minute, 210, 90}} {
		clk.Advance(s.after)
		want := fmt.Sprintf(scrape, s.skill3, s.skill7)
		if err := testutil.CollectAndCompare(tr, strings.NewReader(want), "skill6pub_freshness_seconds"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLastPublishedAndFailingSeconds(t *testing.T) {
	tr, clk := newTracker("3")
	tr.Published("3", start)
	tr.Failed("3", start, errors.New("boom"), 1)
	clk.Advance(90 * time.Second)
	const want = `
# HELP skill6pub_last_published_window_end_seconds End of the last published window, Unix seconds, by skill (absent until one is known).
# TYPE skill6pub_last_published_window_end_seconds gauge
skill6pub_last_published_window_end_seconds{skill="3"} 1.795428e+09
# HELP skill6pub_window_failing_seconds Seconds (when scraped) since the first failure of the window a skill keeps retrying; 0 when none fails.
# TYPE skill6pub_window_failing_seconds gauge
skill6pub_window_failing_seconds{skill="3"} 90
`
	if err := testutil.CollectAndCompare(tr, strings.NewReader(want), "skill6pub_last_published_window_end_seconds", "skill6pub_window_failing_seconds"); err != nil {
		t.Fatal(err)
	}
}

func TestEscalation(t *testing.T) {
	for _, c := range []struct {
		name      string
		attempts  int
		age       time.Duration
		permanent bool
		level     zerolog.Level
		says      string
	}{
		{"first failure of a due window", 1, 2 * time.Minute, false, zerolog.WarnLevel, "window failed; retrying it"},
		{"many failures, still young", 9, 10 * time.Minute, false, zerolog.WarnLevel, "window failed; retrying it"},
		{"old window at catch-up, first tries", 2, 3 * time.Hour, false, zerolog.WarnLevel, "window failed; retrying it"},
		{"fails again and again past the limit", 3, 11*time.Minute + time.Second, false, zerolog.ErrorLevel, "3 attempts, it ended 11m1s ago (over 11m0s: /readyz fails)"},
		{"permanent from the first attempt", 1, time.Minute, true, zerolog.ErrorLevel, "attempt 1, ended 1m0s ago) with an error retrying cannot fix"},
	} {
		t.Run(c.name, func(t *testing.T) {
			level, msg := health.Escalation(c.attempts, c.age, limit, c.permanent)
			if level != c.level || !strings.Contains(msg, c.says) {
				t.Errorf("Escalation(%d, %s, %s, %v) = %s %q, want %s and %q", c.attempts, c.age, limit, c.permanent, level, msg, c.level, c.says)
			}
		})
	}
}

// A standby publishes nothing and is not failing: it is ready, exports no
// per-skill age, and once it becomes active it counts from then, not from
// the process's start.
func TestAStandbyIsReadyAndTheActiveOneCountsFromTheTakeover(t *testing.T) {
	tr, clk := newTracker("3")
	tr.Standby()
	clk.Advance(time.Hour)
	if err := tr.Ready(); err != nil {
		t.Fatalf("a standby an hour after the start: Ready() = %v, want nil", err)
	}
	if n := testutil.CollectAndCount(tr, "skill6pub_freshness_seconds"); n != 0 {
		t.Errorf("a standby exports %d freshness series, want none", n)
	}
	tr.Active()
	clk.Advance(limit)
	if err := tr.Ready(); err != nil {
		t.Fatalf("at the limit after the takeover: Ready() = %v, want nil", err)
	}
	clk.Advance(time.Second)
	wantNotReady(t, tr, "skill 3: nothing published in the 11m1s since the start")
}
