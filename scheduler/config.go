// Package scheduler decides which windows to fetch and when: alignment to
// the interval in the operation's time zone, due times, catch-up after
// downtime, revisions and backfill. It drives fetch, diff, publish and
// commit for each window, strictly in order per skill.
package scheduler

import "time"

// Config is the scheduling part of the service's configuration.
type Config struct {
	SkillIDs       []string      `envconfig:"SKILL_IDS" required:"true" desc:"comma-separated skill ids to poll, or all"`
	Interval       time.Duration `envconfig:"INTERVAL" default:"5m" desc:"window length; windows align to it in WOLKVOX_TIMEZONE"`
	SettleDelay    time.Duration `envconfig:"SETTLE_DELAY" default:"1m" desc:"wait after a window ends before fetching it, so wolkvox has its data"`
	MaxCatchup     time.Duration `envconfig:"MAX_CATCHUP" default:"24h" desc:"after downtime, catch up missed windows this far back; older gaps are left to backfill"`
	ReviseWindows  int           `envconfig:"REVISE_WINDOWS" default:"0" desc:"re-fetch the last N published windows each tick and publish revisions"`
	AllowOverQuota bool          `envconfig:"ALLOW_OVER_QUOTA" default:"false" desc:"start even when the daily call budget exceeds WOLKVOX_DAILY_QUOTA"`
}
