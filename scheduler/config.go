// Package scheduler decides which windows to fetch and when: alignment to
// the interval in the operation's time zone, due times, catch-up after
// downtime, revisions and backfill. It drives fetch, diff, publish and
// commit for each window, strictly in order per skill.
package scheduler

import (
	"fmt"
	"strings"
	"time"
)

// Config is the scheduling part of the service's configuration.
type Config struct {
	SkillIDs       []string      `envconfig:"SKILL_IDS" required:"true" desc:"comma-separated skill numbers to poll (e.g. 3,7), or all"`
	Interval       time.Duration `envconfig:"INTERVAL" default:"5m" desc:"window length; windows align to it in WOLKVOX_TIMEZONE"`
	SettleDelay    time.Duration `envconfig:"SETTLE_DELAY" default:"1m" desc:"wait after a window ends before fetching it, so wolkvox has its data"`
	MaxCatchup     time.Duration `envconfig:"MAX_CATCHUP" default:"24h" desc:"after downtime, catch up missed windows this far back; older gaps are left to backfill"`
	ReviseWindows  int           `envconfig:"REVISE_WINDOWS" default:"0" desc:"re-fetch the last N published windows each tick and publish revisions"`
	AllowOverQuota bool          `envconfig:"ALLOW_OVER_QUOTA" default:"false" desc:"start even when the daily call budget exceeds WOLKVOX_DAILY_QUOTA"`
}

// ConfigError lists every problem found in a Config, one per line.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string { return strings.Join(e.Problems, "\n") }

// Validate checks the configuration before anything connects and reports
// every problem at once, one line each.
func (c Config) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	problems = append(problems, skillIDProblems("SKILL_IDS", c.SkillIDs)...)
	if c.Interval < time.Second || c.Interval%time.Second != 0 || (24*time.Hour)%c.Interval != 0 {
		add("INTERVAL=%s must be a whole number of seconds that divides 24h (e.g. 5m, 10m, 15m, 30m, 1h)", c.Interval)
	}
	if c.SettleDelay < 0 {
		add("SETTLE_DELAY=%s is negative", c.SettleDelay)
	}
	if c.MaxCatchup < 0 {
		add("MAX_CATCHUP=%s is negative", c.MaxCatchup)
	}
	if c.ReviseWindows < 0 {
		add("REVISE_WINDOWS=%d is negative", c.ReviseWindows)
	}
	if problems != nil {
		return &ConfigError{Problems: problems}
	}
	return nil
}

// skillIDProblems checks a list of skill ids given by the setting name
// (SKILL_IDS, or backfill's --skills).
func skillIDProblems(name string, ids []string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(ids) == 0 {
		add("%s is empty: give comma-separated skill ids (e.g. 12,15) or all", name)
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		switch {
		case id == "" && seen[id]: // said once is enough
		case id == "":
			add("%s has an empty entry (a stray comma?)", name)
		case !validSkillID(id):
			add("%s: %q is not a skill id: want the skill's number (like 12) or all", name, id)
		case seen[id]:
			add("%s lists %s twice", name, id)
		}
		seen[id] = true
	}
	if seen[AllSkills] && len(ids) > 1 {
		add("%s: %s already covers every skill; do not combine it with other ids", name, AllSkills)
	}
	return problems
}

// AllSkills is the skill id wolkvox accepts for every skill of the
// operation in one call.
const AllSkills = "all"

// validSkillID says whether wolkvox can be asked for id: a skill's number,
// or all (the fetch client refuses anything else at the first call).
func validSkillID(id string) bool {
	if id == AllSkills {
		return true
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
