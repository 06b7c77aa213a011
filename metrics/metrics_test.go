package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestEveryCollectorIsRegisteredUnderTheNamespace(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	// Touch the vectors so that they show in a gather.
	m.FetchDuration.WithLabelValues("ok").Observe(1)
	m.FetchOutcomes.WithLabelValues("ok").Inc()
	m.Rows.WithLabelValues("3").Add(2)
	m.RejectedRows.WithLabelValues("3").Inc()
	m.Events.WithLabelValues("dnis_window").Inc()
	m.DeadLetters.WithLabelValues("rejected_row").Inc()
	m.LastPublished.WithLabelValues("3").Set(1)
	m.Freshness.WithLabelValues("3").Set(1)
	m.CatchupGaps.WithLabelValues("3").Inc()
	m.WindowsBehind.WithLabelValues("3").Set(0)

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 15 {
		t.Errorf("%d metric families gathered, want 15", len(families))
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
