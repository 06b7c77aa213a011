package deploy

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/health"
	"github.com/skill6pub/skill6pub/metrics"
)

// metricDoc is one metric the service exports, as its registry describes it.
type metricDoc struct {
	name, help string
	labels     []string
}

// collectors is a prometheus.Registerer that keeps what is registered.
type collectors []prometheus.Collector

func (c *collectors) Register(x prometheus.Collector) error   { *c = append(*c, x); return nil }
func (c *collectors) MustRegister(xs ...prometheus.Collector) { *c = append(*c, xs...) }
func (c *collectors) Unregister(prometheus.Collector) bool    { return false }

// serviceMetrics describes every skill6pub_ metric the service exports: the
// collectors of package metrics and the health tracker, as cmd/skill6pub
// registers them.
func serviceMetrics(t *testing.T) map[string]metricDoc {
	t.Helper()
	var all collectors
	metrics.New(&all)
	all.MustRegister(health.New(clock.NewFake(time.Unix(0, 0)), nil, 5*time.Minute, time.Minute))
	descs := make(chan *prometheus.Desc, 100)
	for _, c := range all {
		c.Describe(descs)
	}
	close(descs)
	descRE := regexp.MustCompile(`fqName: "([^"]+)", help: "((?:[^"\\]|\\.)*)", unit: "[^"]*", constLabels: \{[^}]*\}, variableLabels: \{([^}]*)\}`)
	out := map[string]metricDoc{}
	for d := range descs {
		m := descRE.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read %s", d)
		}
		var labels []string
		if m[3] != "" {
			labels = strings.Split(m[3], ",")
		}
		out[m[1]] = metricDoc{name: m[1], help: strings.ReplaceAll(m[2], `\"`, `"`), labels: labels}
	}
	return out
}

// The README's metrics table lists exactly the metrics of the registry,
// each with its labels and its help text.
func TestReadmeMetricsTableMatchesTheRegistry(t *testing.T) {
	readme := string(readFile(t, "README.md"))
	section := between(t, readme, "### Metrics\n", "\n### ")
	rowRE := regexp.MustCompile("(?m)^\\| `(skill6pub_[a-z_]+)` \\| ([a-z]+) \\| ([^|]*) \\| ([^|]+) \\|$")
	documented := map[string][]string{}
	for _, m := range rowRE.FindAllStringSubmatch(section, -1) {
		documented[m[1]] = []string{m[2], strings.TrimSpace(m[3]), strings.TrimSpace(m[4])}
	}
	registered := serviceMetrics(t)
	var want []string
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range registered {
			if !yield(n) {
				return
			}
		}
	}) {
		d := registered[name]
		labels := "`" + strings.Join(d.labels, "`, `") + "`"
		if len(d.labels) == 0 {
			labels = ""
		}
		want = append(want, fmt.Sprintf("| `%s` | %s | %s | %s |", name, "TYPE", labels, d.help))
		doc, ok := documented[name]
		switch {
		case !ok:
			t.Errorf("README's metrics table lacks %s", name)
		case doc[1] != labels:
			t.Errorf("README: %s has labels %q, the registry %q", name, doc[1], labels)
		case doc[2] != d.help:
			t.Errorf("README: %s says %q, its help says %q", name, doc[2], d.help)
		}
	}
	for name := range documented {
		if _, ok := registered[name]; !ok {
			t.Errorf("README documents %s, which the service does not export", name)
		}
	}
	if t.Failed() {
		t.Logf("the rows the registry gives (TYPE: counter, gauge or histogram):\n%s", strings.Join(want, "\n"))
	}
}

// The README's readiness section shows the reasons /readyz gives, exactly
// as the health tracker words them.
func TestReadmeReadinessSectionMatchesTheTracker(t *testing.T) {
	readme := string(readFile(t, "README.md"))
	section := between(t, readme, "### Readiness\n", "\n### ")
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	tr := health.New(clk, []string{"3", "7", "9"}, 5*time.Minute, time.Minute)
	tr.Published("7", start.Add(-2*time.Minute))
	tr.Published("9", start.Add(5*time.Minute))
	clk.Advance(7 * time.Minute)
	failure := errors.New("skill 9 window 2026-11-23T10:05:00Z: publish: kafka publish: 12 of 12 records not acknowledged: ...")
	tr.Failed("9", start.Add(5*time.Minute), failure, 1)
	clk.Advance(5 * time.Minute)
	tr.Failed("9", start.Add(5*time.Minute), failure, 4)
	err := tr.Ready()
	if err == nil {
		t.Fatal("the example is ready")
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.Contains(section, line) {
			t.Errorf("README's readiness section does not show the reason %q", line)
		}
	}
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	if i < 0 {
		t.Fatalf("README.md has no %q", strings.TrimSpace(from))
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		s = s[:j]
	}
	return s
}

// The PrometheusRule holds the same rule groups as the plain rules file.
func TestPrometheusRuleHoldsTheRulesFile(t *testing.T) {
	var rules, operator struct {
		Groups []any `yaml:"groups"`
		Spec   struct {
			Groups []any `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/monitoring/skill6pub-rules.yml"), &rules); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/monitoring/prometheusrule.yaml"), &operator); err != nil {
		t.Fatal(err)
	}
	if len(rules.Groups) == 0 || !reflect.DeepEqual(rules.Groups, operator.Spec.Groups) {
		t.Error("deploy/monitoring/prometheusrule.yaml and skill6pub-rules.yml hold different rules: change both together")
	}
}

type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert string `yaml:"alert"`
			Expr  string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// Every alert has a promtool unit test where it fires and one where it
// stays quiet (promtool test rules runs them in .ci/run), and every metric
// the rules and the dashboard read is one the service exports.
func TestEveryAlertIsTestedAndReadsExportedMetrics(t *testing.T) {
	var rules ruleFile
	if err := yaml.Unmarshal(readFile(t, "deploy/monitoring/skill6pub-rules.yml"), &rules); err != nil {
		t.Fatal(err)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/monitoring/skill6pub-rules_test.yml"), &tests); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	exported := serviceMetrics(t)
	metricRE := regexp.MustCompile(`skill6pub_[a-z_]+`)
	checkNames := func(where, expr string) {
		for _, name := range metricRE.FindAllString(expr, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if _, ok := exported[base]; !ok {
				if _, ok := exported[name]; !ok {
					t.Errorf("%s reads %s, which the service does not export", where, name)
				}
			}
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if !fires[r.Alert] || !quiet[r.Alert] {
				t.Errorf("alert %s lacks a promtool test where it fires (%v) or one where it stays quiet (%v)", r.Alert, fires[r.Alert], quiet[r.Alert])
			}
			checkNames("alert "+r.Alert, r.Expr)
		}
	}
	if n < 9 {
		t.Errorf("%d alerts, want at least the 9 of issue 15", n)
	}
	checkNames("grafana-dashboard.json", string(readFile(t, "deploy/monitoring/grafana-dashboard.json")))
}
