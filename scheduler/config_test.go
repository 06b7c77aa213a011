package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
)

func TestValidateReportsEachProblemOnItsOwnLine(t *testing.T) {
	valid := testConfig("12", "15")
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"no skills", func(c *Config) { c.SkillIDs = nil }, []string{"SKILL_IDS is empty"}},
		{"stray comma", func(c *Config) { c.SkillIDs = []string{"12", ""} }, []string{"SKILL_IDS has an empty entry"}},
		{"space", func(c *Config) { c.SkillIDs = []string{"12", " 15"} }, []string{`SKILL_IDS: " 15" is not a skill id`}},
		{"letters", func(c *Config) { c.SkillIDs = []string{"abc"} }, []string{`SKILL_IDS: "abc" is not a skill id: want the skill's number (like 12) or all`}},
		{"twice", func(c *Config) { c.SkillIDs = []string{"12", "12"} }, []string{"SKILL_IDS lists 12 twice"}},
		{"all with others", func(c *Config) { c.SkillIDs = []string{"all", "12"} }, []string{"all already covers every skill"}},
		{"interval not dividing a day", func(c *Config) { c.Interval = 7 * time.Minute }, []string{"INTERVAL=7m0s must be a whole number of seconds that divides 24h"}},
		{"interval with milliseconds", func(c *Config) { c.Interval = 1500 * time.Millisecond }, []string{"INTERVAL=1.5s"}},
		{"interval zero", func(c *Config) { c.Interval = 0 }, []string{"INTERVAL=0s"}},
		{"negative settle", func(c *Config) { c.SettleDelay = -time.Second }, []string{"SETTLE_DELAY=-1s is negative"}},
		{"negative catch-up", func(c *Config) { c.MaxCatchup = -time.Hour }, []string{"MAX_CATCHUP=-1h0m0s is negative"}},
		{"negative revisions", func(c *Config) { c.ReviseWindows = -1 }, []string{"REVISE_WINDOWS=-1 is negative"}},
		{"several at once", func(c *Config) { c.SkillIDs = nil; c.Interval = 7 * time.Minute; c.ReviseWindows = -2 },
			[]string{"SKILL_IDS is empty", "INTERVAL=7m0s", "REVISE_WINDOWS=-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig("12", "15")
			tt.edit(&c)
			err := c.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v, want a *ConfigError", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(tt.want), err)
			}
			for i, want := range tt.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
				}
			}
		})
	}
}

func TestNewReportsMissingDependencies(t *testing.T) {
	c := testConfig("12")
	c.Interval = 7 * time.Minute
	_, err := New(c, Deps{})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("New = %v, want *ConfigError", err)
	}
	for _, want := range []string{"INTERVAL", "Fetcher, Publisher and Store", "WOLKVOX_TIMEZONE", "WOLKVOX_SERVER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestBudgetAndQuota(t *testing.T) {
	start := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		skills     []string
		revise     int
		interval   time.Duration
		quota      int
		allowOver  bool
		wantCalls  int
		wantRefuse bool
		wantLevel  string
	}{
		{"one skill fits", []string{"12"}, 0, 5 * time.Minute, 1000, false, 288, false, "info"},
		{"close to the quota warns", []string{"12", "15", "16"}, 0, 5 * time.Minute, 1000, false, 864, false, "warn"},
		{"over the quota is refused", []string{"12", "15", "16", "17", "18"}, 0, 5 * time.Minute, 1000, false, 1440, true, ""},
		{"revisions count", []string{"12", "15"}, 1, 5 * time.Minute, 1000, false, 1152, true, ""},
		{"over the quota when allowed", []string{"12", "15", "16", "17", "18"}, 0, 5 * time.Minute, 1000, true, 1440, false, "warn"},
		{"longer interval fits", []string{"12", "15", "16", "17", "18"}, 1, 15 * time.Minute, 1000, false, 960, false, "warn"},
		{"no quota", []string{"12", "15", "16", "17", "18"}, 3, 5 * time.Minute, 0, false, 5760, false, "info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(tt.skills...)
			c.ReviseWindows, c.Interval, c.AllowOverQuota = tt.revise, tt.interval, tt.allowOver
			h := newHarness(t, c, clock.NewFake(start), func(d *Deps) { d.DailyQuota = tt.quota })
			b := h.s.Budget()
			if b.CallsPerDay != tt.wantCalls || b.Skills != len(tt.skills) || b.CallsPerWindow != 1+tt.revise || b.DailyQuota != tt.quota {
				t.Fatalf("Budget() = %+v, want %d calls a day", b, tt.wantCalls)
			}
			err := h.s.CheckQuota()
			if tt.wantRefuse {
				var qe *QuotaError
				if !errors.As(err, &qe) || qe.Budget != b {
					t.Fatalf("CheckQuota() = %v, want a *QuotaError", err)
				}
				if !strings.Contains(err.Error(), "ALLOW_OVER_QUOTA") {
					t.Errorf("the refusal does not say how to go on: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckQuota() = %v", err)
			}
			lines := h.logs.withMessage(t, "daily wolkvox call budget")
			if len(lines) != 1 || lines[0]["level"] != tt.wantLevel || lines[0]["calls_per_day"] != float64(tt.wantCalls) {
				t.Fatalf("budget log lines = %v, want one at %s with %d calls", lines, tt.wantLevel, tt.wantCalls)
			}
			if got := testutil.ToFloat64(h.metrics.DailyBudget); got != float64(tt.wantCalls) {
				t.Errorf("daily budget gauge = %v", got)
			}
		})
	}
}

func TestRunRefusesABudgetOverTheQuota(t *testing.T) {
	h := newHarness(t, testConfig("12", "15", "16", "17", "18"), clock.NewAutoFake(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)),
		func(d *Deps) { d.DailyQuota = 1000 })
	var qe *QuotaError
	if err := h.s.Run(t.Context()); !errors.As(err, &qe) {
		t.Fatalf("Run = %v, want *QuotaError", err)
	}
	if calls := h.fetcher.callList(); len(calls) != 0 {
		t.Errorf("Run fetched %d windows before refusing", len(calls))
	}
}

func TestQuotaWarningsAsCallsApproachTheQuota(t *testing.T) {
	var logs logBuffer
	log := zerolog.New(&logs)
	var q quotaWatch
	for _, calls := range []int{100, 799, 800, 850, 901, 950, 1000, 1003, 5, 500, 990} {
		q.check(log, calls, 1000)
	}
	lines := logs.lines(t)
	var got []string
	for _, l := range lines {
		got = append(got, l["level"].(string)+" "+strings.Fields(l["message"].(string))[0])
	}
	want := []string{"warn 80%", "warn 90%", "error 100%", "warn 90%"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("warnings = %v, want %v", got, want)
	}
}
