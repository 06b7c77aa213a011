package pipeline

import (
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/config"
	"github.com/skill6pub/skill6pub/scheduler"
	"github.com/skill6pub/skill6pub/secret"
)

// TestSettingsReachTheScheduler: every setting the scheduler takes from the
// configuration is in the Deps the pipeline builds, and hooks wrap the real
// components in order (Options.Hooks first).
func TestSettingsReachTheScheduler(t *testing.T) {
	cfg, err := config.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Wolkvox.Server = "0032"
	cfg.Wolkvox.Token = secret.New("token")
	cfg.Wolkvox.TimeZone = "America/Bogota"
	cfg.Kafka.Brokers = []string{"127.0.0.1:1"}
	cfg.Schedule.SkillIDs = []string{"12"}
	cfg.Service.ShutdownTimeout = 7 * time.Second
	var order []string
	mark := func(name string) func(scheduler.Publisher) scheduler.Publisher {
		return func(next scheduler.Publisher) scheduler.Publisher { order = append(order, name); return next }
	}
	p, err := New(cfg, Options{Hooks: Hooks{Publisher: mark("options")}})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Time{})
	deps := Hooks{Publisher: mark("call")}.wrap(p.opts.Hooks.wrap(p.deps(clk)))
	if deps.ShutdownGrace != cfg.Service.ShutdownTimeout {
		t.Errorf("ShutdownGrace %s, want SHUTDOWN_TIMEOUT %s", deps.ShutdownGrace, cfg.Service.ShutdownTimeout)
	}
	if deps.Operation != "0032" || deps.Location.String() != "America/Bogota" {
		t.Errorf("operation %q in %s, want 0032 in America/Bogota", deps.Operation, deps.Location)
	}
	if deps.Hasher.Enabled() {
		t.Error("DNIS are hashed without DNIS_HMAC_KEY")
	}
	if deps.Clock != clk || deps.CallsToday == nil {
		t.Error("not the given clock, or no call count: the quota warnings cannot work")
	}
	if len(order) != 2 || order[0] != "options" || order[1] != "call" {
		t.Errorf("hooks ran %v, want options then call", order)
	}
}
