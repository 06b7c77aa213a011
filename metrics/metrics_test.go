package metrics

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestEveryCollectorIsRegisteredUnderTheNamespace(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	// Touch the vectors so that they show in a gather.
	m.Skills([]string{"3"})
	m.Build("")
	m.FetchDuration.WithLabelValues("3", "ok").Observe(1)
	m.Rows.WithLabelValues("3").Add(2)

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 17 {
		t.Errorf("%d metric families gathered, want 17", len(families))
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "skill6pub_") {
			t.Errorf("metric %s is outside the skill6pub namespace", f.GetName())
		}
		if f.GetHelp() == "" {
			t.Errorf("metric %s has no help text", f.GetName())
		}
	}
	if got := testutil.ToFloat64(m.Rows.WithLabelValues("3")); got != 2 {
		t.Errorf("rows_total{skill=3} = %v", got)
	}
}

func TestASecondRegistrationIsRefused(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg)
	defer func() {
		if recover() == nil {
			t.Error("registering the collectors twice on one registry did not panic")
		}
	}()
	New(reg)
}

// Every labelled counter exists at 0 for its known labels from the start,
// so that an alert on increase(...) sees the first event after a start.
func TestLabelledCountersStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.Skills([]string{"3", "7"})
	for name, want := range map[string]int{
		"skill6pub_fetch_total":               2 * len(FetchOutcomes),
		"skill6pub_rows_total":                2,
		"skill6pub_rejected_rows_total":       2,
		"skill6pub_catchup_gap_windows_total": 2,
		"skill6pub_truncated_responses_total": 2,
		"skill6pub_windows_behind":            2,
		"skill6pub_dead_letters_total":        2 * len(DeadLetterReasons),
		"skill6pub_events_published_total":    2 * len(EventTypes),
		"skill6pub_publish_errors_total":      2,
	} {
		if got, err := testutil.GatherAndCount(reg, name); err != nil || got != want {
			t.Errorf("%s: %d series (%v), want %d at 0", name, got, err, want)
		}
	}
	if got := testutil.ToFloat64(m.FetchOutcomes.WithLabelValues("7", "auth")); got != 0 {
		t.Errorf("fetch_total{skill=7,outcome=auth} = %v, want 0", got)
	}
}

func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	if v := m.Build("1.2.3"); v != "1.2.3" {
		t.Errorf("a stamped version: Build = %q", v)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "skill6pub_build_info" {
			continue
		}
		labels := map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != "1.2.3" || !strings.HasPrefix(labels["go_version"], "go1.") || f.GetMetric()[0].GetGauge().GetValue() != 1 {
			t.Errorf("build_info = %v", labels)
		}
		return
	}
	t.Error("no skill6pub_build_info")
}

func TestVersionFromTheBuildInformation(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		name, stamped string
		info          debug.BuildInfo
		want          string
	}{
		{"stamped", "1.4.0", debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}}, "1.4.0"},
		{"go install of a tag", "", debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"source build", "", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "devel+0123456789ab"},
		{"source build, modified", "dev", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "devel+0123456789ab+dirty"},
		{"nothing known", "", debug.BuildInfo{}, "dev"},
	} {
		if got, _, _ := versionOf(c.stamped, &c.info); got != c.want {
			t.Errorf("%s: version %q, want %q", c.name, got, c.want)
		}
	}
}
