// Package health keeps track of whether each configured skill is publishing
// as configured, for the ops server's /readyz and for the metrics that are
// ages (computed when scraped, so that a hung process does not look fresh).
//
// The scheduler tells a Tracker what happens to each skill's live windows
// (Started, Published, Failed); /readyz asks Ready and Prometheus collects
// the Tracker. A nil *Tracker hears nothing and reports ready, so that tests
// of the scheduler need none.
package health

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skill6pub/skill6pub/clock"
)

// Tracker holds, per configured skill, the end of the last window published
// and the window that is failing, if any. It is safe for concurrent use.
type Tracker struct {
	clock clock.Clock
	// limit is how old the newest published window may be (or how long
	// after the start nothing may have been published) before the skill is
	// not ready: two intervals plus SETTLE_DELAY, so that one slow window
	// does not flap readiness.
	limit time.Duration
	// patience is how long a window may keep failing before the skill is
	// not ready although its last window is recent: one interval.
	patience time.Duration

	freshness, limitDesc, lastEnd, failingFor *prometheus.Desc

	mu     sync.Mutex
	skills []string // configured, in order
	state  map[string]*skillState
	// standby: another replica publishes; this one answers for nothing
	// until it becomes the active one.
	standby bool
}

type skillState struct {
	since   time.Time // the tracker's start: the skill counts as stale from there when nothing was published
	lastEnd time.Time // end of the last published window; zero when none
	failing *failure
}

// failure is the window of a skill that failed and was not yet published.
type failure struct {
	windowStart time.Time
	first       time.Time // first failure of this window
	attempts    int
	err         string
}

// New returns a Tracker of skills, started now by clk. interval and settle
// are INTERVAL and SETTLE_DELAY.
func New(clk clock.Clock, skills []string, interval, settle time.Duration) *Tracker {
	t := &Tracker{
		clock:    clk,
		limit:    Limit(interval, settle),
		patience: interval,
		skills:   append([]string(nil), skills...),
		state:    make(map[string]*skillState, len(skills)),
		freshness: prometheus.NewDesc("skill6pub_freshness_seconds",
			"Seconds between now (when scraped) and the end of the last published window, by skill; counted from the start while nothing was published.",
			[]string{"skill"}, nil),
		limitDesc: prometheus.NewDesc("skill6pub_freshness_limit_seconds",
			"The freshness beyond which a skill is not ready: 2 x INTERVAL + SETTLE_DELAY (alerts compare freshness with it).",
			nil, nil),
		lastEnd: prometheus.NewDesc("skill6pub_last_published_window_end_seconds",
			"End of the last published window, Unix seconds, by skill (absent until one is known).",
			[]string{"skill"}, nil),
		failingFor: prometheus.NewDesc("skill6pub_window_failing_seconds",
			"Seconds (when scraped) since the first failure of the window a skill keeps retrying; 0 when none fails.",
			[]string{"skill"}, nil),
	}
	now := clk.Now()
	for _, s := range skills {
		t.state[s] = &skillState{since: now}
	}
	return t
}

// Limit is how old a skill's newest published window may be before the
// skill is not ready: two intervals plus the settle delay.
func Limit(interval, settle time.Duration) time.Duration { return 2*interval + settle }

// skill returns the state of skill, adding it when it was not configured
// (a backfill's --skills): callers hold t.mu.
func (t *Tracker) skill(skill string) *skillState {
	st, ok := t.state[skill]
	if !ok {
		st = &skillState{since: t.clock.Now()}
		t.state[skill] = st
		t.skills = append(t.skills, skill)
	}
	return st
}

// Standby tells that this replica stands by while another one publishes:
// Ready reports no skill as failing to publish, and the per-skill ages are
// not exported (they would describe this replica, which publishes nothing),
// until Active.
func (t *Tracker) Standby() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.standby = true
}

// Active tells that this replica becomes the one that publishes: every
// skill counts as started now, with nothing known of it until the
// scheduler says (Started), as after a start of the process.
func (t *Tracker) Active() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.standby = false
	now := t.clock.Now()
	for _, st := range t.state {
		*st = skillState{since: now}
	}
}

// Started tells that the live stream of skill starts, with lastEnd the end
// of the last window its state holds (zero when none).
func (t *Tracker) Started(skill string, lastEnd time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.skill(skill).lastEnd = lastEnd
}

// Published tells that the window of skill ending at windowEnd is published
// and committed: the skill's failure, if any, is over.
func (t *Tracker) Published(skill string, windowEnd time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.skill(skill)
	if windowEnd.After(st.lastEnd) {
		st.lastEnd = windowEnd
	}
	st.failing = nil
}

// Failed tells that attempt (1, 2, ...) of the window of skill starting at
// windowStart failed with err. The error's text is what /readyz shows: it
// must carry no secret (fetch and producer errors carry none).
func (t *Tracker) Failed(skill string, windowStart time.Time, err error, attempt int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.skill(skill)
	if st.failing == nil || !st.failing.windowStart.Equal(windowStart) {
		st.failing = &failure{windowStart: windowStart, first: t.clock.Now()}
	}
	st.failing.attempts = attempt
	st.failing.err = err.Error()
}

// Ready returns nil when every skill is publishing as configured, else one
// error per skill that is not, saying why: nothing published within the
// limit of the start, the last window too old, or a window that has kept
// failing for an interval (with its last error).
func (t *Tracker) Ready() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.standby {
		return nil
	}
	now := t.clock.Now()
	var problems []error
	for _, skill := range t.skills {
		if err := t.readiness(skill, t.state[skill], now); err != nil {
			problems = append(problems, err)
		}
	}
	return errors.Join(problems...)
}

func (t *Tracker) readiness(skill string, st *skillState, now time.Time) error {
	var why string
	switch {
	case st.lastEnd.IsZero() && now.Sub(st.since) > t.limit:
		why = fmt.Sprintf("nothing published in the %s since the start (limit %s: 2 x INTERVAL + SETTLE_DELAY)", round(now.Sub(st.since)), t.limit)
	case !st.lastEnd.IsZero() && now.Sub(st.lastEnd) > t.limit:
		why = fmt.Sprintf("the last published window ended %s ago (limit %s: 2 x INTERVAL + SETTLE_DELAY)", round(now.Sub(st.lastEnd)), t.limit)
	case st.failing != nil && now.Sub(st.failing.first) >= t.patience:
		why = fmt.Sprintf("a window has kept failing for %s", round(now.Sub(st.failing.first)))
	default:
		return nil
	}
	if f := st.failing; f != nil {
		why += fmt.Sprintf("; window %s failed %d times, last: %s", f.windowStart.Format(time.RFC3339), f.attempts, f.err)
	}
	return fmt.Errorf("skill %s: %s", skill, why)
}

// round keeps ages readable: whole seconds.
func round(d time.Duration) time.Duration { return d.Round(time.Second) }

// Describe implements prometheus.Collector.
func (t *Tracker) Describe(ch chan<- *prometheus.Desc) {
	ch <- t.freshness
	ch <- t.limitDesc
	ch <- t.lastEnd
	ch <- t.failingFor
}

// Collect implements prometheus.Collector: the ages are computed now, for
// every configured skill.
func (t *Tracker) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	ch <- prometheus.MustNewConstMetric(t.limitDesc, prometheus.GaugeValue, t.limit.Seconds())
	if t.standby {
		return
	}
	for _, skill := range t.skills {
		st := t.state[skill]
		from := st.since
		if !st.lastEnd.IsZero() {
			from = st.lastEnd
			ch <- prometheus.MustNewConstMetric(t.lastEnd, prometheus.GaugeValue, float64(st.lastEnd.Unix()), skill)
		}
		ch <- prometheus.MustNewConstMetric(t.freshness, prometheus.GaugeValue, now.Sub(from).Seconds(), skill)
		failing := 0.0
		if st.failing != nil {
			failing = now.Sub(st.failing.first).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(t.failingFor, prometheus.GaugeValue, failing, skill)
	}
}
