// Package metrics defines every Prometheus metric skill6pub exports, in one
// place so that names stay consistent. Components take a *Metrics; a nil
// *Metrics records nothing, which keeps tests that do not look at metrics
// short.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "skill6pub"

// Metrics are the collectors of one running service.
type Metrics struct {
	FetchDuration  *prometheus.HistogramVec // by outcome
	FetchOutcomes  *prometheus.CounterVec   // by outcome: ok, no_data, auth, quota, busy, maintenance, upstream, malformed, ...
	Rows           *prometheus.CounterVec   // by skill
	RejectedRows   *prometheus.CounterVec   // by skill
	Events         *prometheus.CounterVec   // by event type
	PublishSeconds prometheus.Histogram
	PublishErrors  prometheus.Counter
	DeadLetters    *prometheus.CounterVec // by reason kind: rejected_row, oversized
	CallsToday     prometheus.Gauge
	DailyBudget    prometheus.Gauge // calls per day the configuration spends
	DailyQuota     prometheus.Gauge
	LastPublished  *prometheus.GaugeVec   // by skill: end of the last published window, unix seconds
	Freshness      *prometheus.GaugeVec   // by skill: now - end of last published window, seconds
	CatchupGaps    *prometheus.CounterVec // by skill: windows left to backfill
	WindowsBehind  *prometheus.GaugeVec   // by skill: due windows not yet published
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		FetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "fetch_duration_seconds",
			Help:    "Duration of wolkvox skill_6 calls, by outcome.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"outcome"}),
		FetchOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "fetch_total",
			Help: "wolkvox skill_6 calls, by outcome (ok, no_data or an error kind).",
		}, []string{"outcome"}),
		Rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rows_total",
			Help: "DNIS rows received from wolkvox, by skill.",
		}, []string{"skill"}),
		RejectedRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rejected_rows_total",
			Help: "Rows that could not be typed and went to the dead-letter topic, by skill.",
		}, []string{"skill"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "events_published_total",
			Help: "Events acknowledged by Kafka, by event type.",
		}, []string{"type"}),
		PublishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "publish_duration_seconds",
			Help:    "Duration of publishing one window's events until all are acknowledged.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		PublishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "publish_errors_total",
			Help: "Window publishes that failed and will be retried.",
		}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "dead_letters_total",
			Help: "Records sent to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		CallsToday: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "wolkvox_calls_today",
			Help: "wolkvox API calls made today (operation's time zone) by this process.",
		}),
		DailyBudget: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "wolkvox_daily_budget_calls",
			Help: "Calls per day the configuration spends: skills x windows per day x (1 + revisions).",
		}),
		DailyQuota: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "wolkvox_daily_quota_calls",
			Help: "The licence's daily call quota (WOLKVOX_DAILY_QUOTA; 0 when not set).",
		}),
		LastPublished: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_published_window_end_seconds",
			Help: "End of the last published window, Unix seconds, by skill.",
		}, []string{"skill"}),
		Freshness: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "freshness_seconds",
			Help: "Seconds between now and the end of the last published window, by skill.",
		}, []string{"skill"}),
		CatchupGaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "catchup_gap_windows_total",
			Help: "Windows older than MAX_CATCHUP that were not caught up (run backfill), by skill.",
		}, []string{"skill"}),
		WindowsBehind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "windows_behind",
			Help: "Due windows not yet published, by skill.",
		}, []string{"skill"}),
	}
	reg.MustRegister(m.FetchDuration, m.FetchOutcomes, m.Rows, m.RejectedRows, m.Events,
		m.PublishSeconds, m.PublishErrors, m.DeadLetters, m.CallsToday, m.DailyBudget,
		m.DailyQuota, m.LastPublished, m.Freshness, m.CatchupGaps, m.WindowsBehind)
	return m
}
