package scheduler

import (
	"fmt"
	"sync"

	"github.com/rs/zerolog"
)

// Budget is what the configuration spends of the licence's daily call quota.
type Budget struct {
	Skills        int // skills polled (SKILL_IDS=all counts as one: one call covers them all)
	WindowsPerDay int // windows in a day without a clock change
	// CallsPerWindow is 1 + REVISE_WINDOWS: each tick fetches the new window
	// and re-fetches the last REVISE_WINDOWS published ones.
	CallsPerWindow int
	CallsPerDay    int // Skills x WindowsPerDay x CallsPerWindow
	DailyQuota     int // WOLKVOX_DAILY_QUOTA; 0 when not enforced
}

// Fits reports whether the budget stays within the quota (always true when no
// quota is set).
func (b Budget) Fits() bool { return b.DailyQuota <= 0 || b.CallsPerDay <= b.DailyQuota }

// String spells the budget out with its arithmetic.
func (b Budget) String() string {
	s := fmt.Sprintf("%d calls a day (%d skills x %d windows x %d calls per window)",
		b.CallsPerDay, b.Skills, b.WindowsPerDay, b.CallsPerWindow)
	if b.DailyQuota > 0 {
		s += fmt.Sprintf(" of a daily quota of %d", b.DailyQuota)
	}
	return s
}

// QuotaError says that the configuration spends more calls a day than the
// licence allows.
type QuotaError struct {
	Budget Budget
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("the configuration spends %d calls a day (%d skills x %d windows x %d calls per window) but WOLKVOX_DAILY_QUOTA is %d: "+
		"poll fewer SKILL_IDS, use a longer INTERVAL or fewer REVISE_WINDOWS, or set ALLOW_OVER_QUOTA=true to start anyway",
		e.Budget.CallsPerDay, e.Budget.Skills, e.Budget.WindowsPerDay, e.Budget.CallsPerWindow, e.Budget.DailyQuota)
}

// quotaWarnAt are the shares of the daily quota at which the budget and the
// calls spent today draw a warning.
var quotaWarnAt = [...]int{80, 90, 100} // percent

// Budget returns the daily call budget of the configuration.
func (s *Scheduler) Budget() Budget {
	b := Budget{
		Skills:         len(s.cfg.SkillIDs),
		WindowsPerDay:  s.calendar.WindowsPerDay(),
		CallsPerWindow: 1 + s.cfg.ReviseWindows,
		DailyQuota:     s.deps.DailyQuota,
	}
	b.CallsPerDay = b.Skills * b.WindowsPerDay * b.CallsPerWindow
	return b
}

// CheckQuota logs the daily budget and refuses a budget that does not fit the
// quota, unless ALLOW_OVER_QUOTA is set. A budget that fits but leaves less
// than a fifth of the quota draws a warning: once and backfill spend the same
// quota.
func (s *Scheduler) CheckQuota() error {
	b := s.Budget()
	if m := s.deps.Metrics; m != nil {
		m.DailyBudget.Set(float64(b.CallsPerDay))
		m.DailyQuota.Set(float64(b.DailyQuota))
	}
	event := s.log.Info()
	switch {
	case !b.Fits() && !s.cfg.AllowOverQuota:
		return &QuotaError{Budget: b}
	case !b.Fits():
		event = s.log.Warn().Bool("allow_over_quota", true)
	case b.DailyQuota > 0 && b.CallsPerDay*100 >= b.DailyQuota*quotaWarnAt[0]:
		event = s.log.Warn().Int("calls_left_for_once_and_backfill", b.DailyQuota-b.CallsPerDay)
	}
	event.Int("calls_per_day", b.CallsPerDay).Int("daily_quota", b.DailyQuota).
		Int("skills", b.Skills).Int("windows_per_day", b.WindowsPerDay).Int("calls_per_window", b.CallsPerWindow).
		Msg("daily wolkvox call budget: " + b.String())
	return nil
}

// quotaWatch warns once per threshold as the calls spent today approach the
// daily quota, and again on the next day.
type quotaWatch struct {
	mu     sync.Mutex
	warned int // highest threshold warned about today, in percent
	last   int // calls seen at the previous check
}

// check compares calls with quota and logs when a new threshold is crossed.
// The count dropping means a new day began.
func (q *quotaWatch) check(log zerolog.Logger, calls, quota int) {
	if quota <= 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if calls < q.last {
		q.warned = 0
	}
	q.last = calls
	crossed := 0
	for _, pct := range quotaWarnAt {
		if calls*100 >= quota*pct {
			crossed = pct
		}
	}
	if crossed <= q.warned {
		return
	}
	q.warned = crossed
	event := log.Warn()
	if crossed >= 100 {
		event = log.Error()
	}
	event.Int("calls_today", calls).Int("daily_quota", quota).
		Msgf("%d%% of the daily wolkvox quota is spent; calls beyond it fail until the quota resets", crossed)
}
