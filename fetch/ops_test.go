package fetch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/metrics"
)

func fetchWindow(t *testing.T, c *fetch.Client) (fetch.Report, error) {
	t.Helper()
	start := day.Add(10 * time.Hour)
	return c.Fetch(testCtx(t), "1", start, start.Add(5*time.Minute))
}

// The day's count of calls survives a restart (a new Client on the same
// file) and counts only calls that reached wolkvox.
func TestCallsTodaySurviveARestartAndCountOnlyCallsThatReachedWolkvox(t *testing.T) {
	_, srv := startSim(t, wolkvoxsim.Config{})
	file := filepath.Join(t.TempDir(), fetch.CallCountFile)
	clk := clock.NewFake(now)
	cfg := config(wolkvoxsim.URL(srv.URL))
	first := newClient(t, cfg, fetch.WithCallCountFile(file), fetch.WithClock(clk))
	for range 2 {
		if _, err := fetchWindow(t, first); err != nil {
			t.Fatal(err)
		}
	}
	restarted := newClient(t, cfg, fetch.WithCallCountFile(file), fetch.WithClock(clk))
	if n := restarted.CallsToday(); n != 2 {
		t.Fatalf("after a restart: CallsToday = %d, want the 2 calls of the first run", n)
	}
	if _, err := fetchWindow(t, restarted); err != nil {
		t.Fatal(err)
	}
	if n := restarted.CallsToday(); n != 3 {
		t.Errorf("CallsToday = %d, want 3", n)
	}

	// A refused connection never reached wolkvox: not a call.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	refused := newClient(t, config(wolkvoxsim.URL(closed.URL)), fetch.WithCallCountFile(file), fetch.WithClock(clk))
	if _, err := fetchWindow(t, refused); !errors.Is(err, fetch.KindUpstream) {
		t.Fatalf("closed server: %v", err)
	}
	if n := refused.CallsToday(); n != 3 {
		t.Errorf("after a refused connection: CallsToday = %d, want still 3", n)
	}
	clk.Advance(24 * time.Hour)
	if n := refused.CallsToday(); n != 0 {
		t.Errorf("the next day: CallsToday = %d, want 0", n)
	}
}

// serveBody answers every request with status, content type and body, with
// a Content-Length of announced (len(body) when 0).
func serveBody(t *testing.T, contentType string, body []byte, announced int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		if announced > 0 {
			w.Header().Set("Content-Length", strconv.Itoa(announced))
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestABodyCutShortSaysSo(t *testing.T) {
	srv := serveBody(t, "application/json", []byte(`{"code":200,"error":null,"msg":"2 records`), 500)
	_, err := fetchWindow(t, newClient(t, config(srv.URL+fetch.Path)))
	if !errors.Is(err, fetch.KindUpstream) || !strings.Contains(err.Error(), "the answer was cut short: the connection closed after 41 of the 500 bytes announced") ||
		strings.Contains(err.Error(), "no answer from wolkvox") {
		t.Errorf("a body cut short: %v", err)
	}
}

func TestAWebPageUnderStatus200SaysWhatCame(t *testing.T) {
	srv := serveBody(t, "text/html; charset=UTF-8", []byte("<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>"), 0)
	_, err := fetchWindow(t, newClient(t, config(srv.URL+fetch.Path)))
	for _, want := range []string{`Content-Type "text/html; charset=UTF-8"`, `the body starts with "<!DOCTYPE html> <html><head><title>Sign`, "check WOLKVOX_BASE_URL"} {
		if !errors.Is(err, fetch.KindMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("an HTML page under 200: %v, want %q in it", err, want)
		}
	}
}

// A response at wolkvox's 60,000-row cap is logged at error level, naming
// the window and what to do, and counted.
func TestAResponseAtTheRowCapIsAnError(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"code":200,"error":null,"msg":"60000 records were found","data":[`)
	for i := range fetch.RowCap {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"dnis":"57300` + strconv.Itoa(1000000+i) + `","inbound_calls":"1","answer_calls":"1","abandon_calls":"0"}`)
	}
	b.WriteString("]}")
	srv := serveBody(t, "application/json", b.Bytes(), 0)
	var logs bytes.Buffer
	m := metrics.New(prometheus.NewRegistry())
	c := newClient(t, config(srv.URL+fetch.Path), fetch.WithLogger(zerolog.New(&logs).Level(zerolog.InfoLevel)), fetch.WithMetrics(m))
	rep, err := fetchWindow(t, c)
	if err != nil || !rep.MaybeTruncated {
		t.Fatalf("Fetch: truncated %v, %v", rep.MaybeTruncated, err)
	}
	var line struct {
		Level, Message, Skill string
		DateIni               string `json:"date_ini"`
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("want one log line, got %q: %v", logs.String(), err)
	}
	if line.Level != "error" || line.Skill != "1" || line.DateIni != "20250601100000" ||
		!strings.Contains(line.Message, "60000 rows, wolkvox's cap: rows may be missing") || !strings.Contains(line.Message, "Shorten INTERVAL") {
		t.Errorf("log line %+v", line)
	}
	if got := testutil.ToFloat64(m.Truncated.WithLabelValues("1")); got != 1 {
		t.Errorf("truncated_responses_total{skill=1} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.Rows.WithLabelValues("1")); got != fetch.RowCap {
		t.Errorf("rows_total{skill=1} = %v, want %d", got, fetch.RowCap)
	}
}

// rows_total and rejected_rows_total count what each skill's answers held.
func TestRowsAreCountedBySkill(t *testing.T) {
	_, srv := startSim(t, wolkvoxsim.Config{EchoToken: true})
	m := metrics.New(prometheus.NewRegistry())
	c := newClient(t, config(wolkvoxsim.URL(srv.URL)), fetch.WithMetrics(m))
	rep, err := fetchWindow(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rejected) != 1 {
		t.Fatalf("%d rejected rows, want the echoed one", len(rep.Rejected))
	}
	if got := testutil.ToFloat64(m.Rows.WithLabelValues("1")); got != float64(len(rep.Rows)+1) {
		t.Errorf("rows_total{skill=1} = %v, want %d", got, len(rep.Rows)+1)
	}
	if got := testutil.ToFloat64(m.RejectedRows.WithLabelValues("1")); got != 1 {
		t.Errorf("rejected_rows_total{skill=1} = %v, want 1", got)
	}
}

// An upstream that echoes the token, whole or in part, in the rows: what
// Fetch returns (the rows, the rejected rows' raw JSON and reason, which
// become a dead letter on Kafka) holds neither the token nor a prefix of it.
func TestEchoedTokenNeverLeavesFetch(t *testing.T) {
	_, srv := startSim(t, wolkvoxsim.Config{EchoToken: true})
	rep, err := fetchWindow(t, newClient(t, config(wolkvoxsim.URL(srv.URL))))
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(rep)
	for _, r := range rep.Rejected {
		all = append(append(all, r.Reason...), r.Raw...)
		if !json.Valid(r.Raw) {
			t.Errorf("rejected row %d: raw is not JSON any more: %s", r.Index, r.Raw)
		}
	}
	if leak := token[:6]; bytes.Contains(all, []byte(leak)) {
		t.Errorf("the report holds %q, a prefix of the token: %s", leak, all[:min(len(all), 600)])
	}
	if !bytes.Contains(all, []byte("[REDACTED]")) {
		t.Errorf("nothing was redacted: did the simulator echo the token? %s", all[:min(len(all), 600)])
	}
}
