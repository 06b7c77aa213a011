// Package metrics defines every Prometheus metric skill6pub exports, in one
// place so that names stay consistent. Components take a *Metrics; a nil
// *Metrics records nothing, which keeps tests that do not look at metrics
// short.
package metrics

import (
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skill6pub/skill6pub/schema"
)

const namespace = "skill6pub"

// Metrics are the collectors of one running service.
type Metrics struct {
	FetchDuration  *prometheus.HistogramVec // by skill and outcome
	FetchOutcomes  *prometheus.CounterVec   // by skill and outcome: ok, no_data, auth, quota, busy, maintenance, upstream, malformed, ...
	Rows           *prometheus.CounterVec   // by skill
	RejectedRows   *prometheus.CounterVec   // by skill
	Events         *prometheus.CounterVec   // by skill and event type
	PublishSeconds prometheus.Histogram
	PublishErrors  *prometheus.CounterVec // by skill
	DeadLetters    *prometheus.CounterVec // by skill and reason kind: rejected_row, oversized
	CallsToday     prometheus.Gauge
	DailyBudget    prometheus.Gauge // calls per day the configuration spends
	DailyQuota     prometheus.Gauge
	CatchupGaps    *prometheus.CounterVec // by skill: windows left to backfill
	WindowsBehind  *prometheus.GaugeVec   // by skill: due windows not yet published
	Truncated      *prometheus.CounterVec // by skill: responses at wolkvox's row cap
	BuildInfo      *prometheus.GaugeVec   // 1, by version, revision and Go version
	Active         prometheus.Gauge       // 1 while this process is the one that publishes
	Takeovers      prometheus.Counter     // times this replica became the active one
}

// FetchOutcomes are the values of the outcome label of the fetch metrics:
// ok, no_data, and the fetch error kinds (fetch.Kind's String), listed here
// so that every series exists at 0 from the start.
var FetchOutcomes = []string{"ok", "no_data", "auth", "quota", "busy", "maintenance", "upstream", "malformed", "bad_request", "canceled"}

// DeadLetterReasons are the values of the reason label of dead_letters_total.
var DeadLetterReasons = []string{"rejected_row", "oversized", "unencodable"}

// EventTypes are the values of the type label of events_published_total.
var EventTypes = []string{schema.TypeDNISWindow, schema.TypeDNISGone, schema.TypeWindowClosed}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		FetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "fetch_duration_seconds",
			Help:    "Duration of wolkvox skill_6 calls, by skill and outcome.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"skill", "outcome"}),
		FetchOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "fetch_total",
			Help: "wolkvox skill_6 calls, by skill and outcome (ok, no_data or an error kind).",
		}, []string{"skill", "outcome"}),
		Rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rows_total",
			Help: "DNIS rows received from wolkvox, by skill.",
		}, []string{"skill"}),
		RejectedRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rejected_rows_total",
			Help: "Rows received from wolkvox that could not be typed (they go to the dead-letter topic), by skill.",
		}, []string{"skill"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "events_published_total",
			Help: "Events acknowledged by Kafka, by skill and event type.",
		}, []string{"skill", "type"}),
		PublishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "publish_duration_seconds",
			Help:    "Duration of publishing one window's events until all are acknowledged.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		PublishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "publish_errors_total",
			Help: "Window publishes that failed and will be retried, by skill.",
		}, []string{"skill"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "dead_letters_total",
			Help: "Records sent to the dead-letter topic, by skill and reason.",
		}, []string{"skill", "reason"}),
		CallsToday: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "wolkvox_calls_today",
			Help: "wolkvox API calls that reached wolkvox today (operation's time zone), kept across restarts in STATE_DIR with STATE_STORE=dir, in memory with the state topic.",
		}),
		DailyBudget: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "wolkvox_daily_budget_calls",
			Help: "Calls per day the configuration spends: skills x windows per day x (1 + revisions).",
		}),
		DailyQuota: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "wolkvox_daily_quota_calls",
			Help: "The licence's daily call quota (WOLKVOX_DAILY_QUOTA; 0 when not set).",
		}),
		CatchupGaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "catchup_gap_windows_total",
			Help: "Windows older than MAX_CATCHUP that were not caught up (run backfill), by skill.",
		}, []string{"skill"}),
		WindowsBehind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "windows_behind",
			Help: "Due windows not yet published, by skill.",
		}, []string{"skill"}),
		Truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "truncated_responses_total",
			Help: "Responses that reached wolkvox's 60,000-row cap and may miss rows, by skill.",
		}, []string{"skill"}),
		Active: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "active",
			Help: "1 while this process publishes (the daemon runs, or replicas elected it), 0 while it stands by or stops.",
		}),
		Takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "takeovers_total",
			Help: "Times this replica became the active one among the replicas of its operation (its first election included).",
		}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "build_info",
			Help: "Always 1; the labels say which build runs.",
		}, []string{"version", "revision", "go_version"}),
	}
	reg.MustRegister(m.FetchDuration, m.FetchOutcomes, m.Rows, m.RejectedRows, m.Events,
		m.PublishSeconds, m.PublishErrors, m.DeadLetters, m.CallsToday, m.DailyBudget,
		m.DailyQuota, m.CatchupGaps, m.WindowsBehind, m.Truncated, m.BuildInfo, m.Active, m.Takeovers)
	return m
}

// Skills creates every series of the configured skills at 0, so that an
// alert on increase(...) sees the first event after a start, and a skill
// without any event still has its series.
func (m *Metrics) Skills(skills []string) {
	for _, skill := range skills {
		for _, outcome := range FetchOutcomes {
			m.FetchOutcomes.WithLabelValues(skill, outcome)
		}
		m.Rows.WithLabelValues(skill)
		m.RejectedRows.WithLabelValues(skill)
		m.CatchupGaps.WithLabelValues(skill)
		m.WindowsBehind.WithLabelValues(skill)
		m.Truncated.WithLabelValues(skill)
		m.PublishErrors.WithLabelValues(skill)
		for _, reason := range DeadLetterReasons {
			m.DeadLetters.WithLabelValues(skill, reason)
		}
		for _, t := range EventTypes {
			m.Events.WithLabelValues(skill, t)
		}
	}
}

// Build sets build_info from version (what the binary was stamped with; ""
// or "dev" takes the module version of the build information) and the
// build information Go records: the VCS revision and the Go version.
// It returns the version it settled on.
func (m *Metrics) Build(version string) string {
	version, revision, goVersion := BuildVersion(version)
	m.BuildInfo.WithLabelValues(version, revision, goVersion).Set(1)
	return version
}

// BuildVersion returns the version of the running binary: stamped when it
// is (-ldflags -X), else the module version Go recorded (a `go install
// ...@v1.2.3` build), else the VCS revision ("devel+" and 12 hex digits,
// "+dirty" for a modified tree), else "dev"; with the revision and the Go
// version.
func BuildVersion(stamped string) (version, revision, goVersion string) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = &debug.BuildInfo{}
	}
	return versionOf(stamped, info)
}

// versionOf is BuildVersion with the build information given.
func versionOf(stamped string, info *debug.BuildInfo) (version, revision, goVersion string) {
	version = stamped
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if version == "" || version == "dev" {
		switch {
		case info.Main.Version != "" && info.Main.Version != "(devel)":
			version = info.Main.Version
		case len(revision) >= 12:
			version = "devel+" + revision[:12]
			if dirty {
				version += "+dirty"
			}
		default:
			version = "dev"
		}
	}
	return version, revision, info.GoVersion
}
