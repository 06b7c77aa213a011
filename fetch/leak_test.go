package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/secret"
)

// TestTokenNeverLeaks drives every failure path, with an upstream that echoes
// the token back, and looks for the token in every error text, every way of
// printing the errors and the client, the log at debug level and the
// metrics.
func TestTokenNeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	log := zerolog.New(&logs).Level(zerolog.DebugLevel)
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	var texts []string
	failures := 0
	record := func(what string, err error) {
		if err == nil {
			return
		}
		failures++
		texts = append(texts, what+": "+err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%s", errors.Unwrap(err)))
	}
	start := day.Add(10 * time.Hour)
	fetchWith := func(c *fetch.Client) error {
		_, err := c.Fetch(t.Context(), "1", start, start.Add(5*time.Minute))
		return err
	}
	opts := []fetch.Option{fetch.WithLogger(log), fetch.WithMetrics(m), fetch.WithClock(clock.NewAutoFake(now))}

	// Every fault of the simulator, each twice so that retries happen.
	sim, srv := startSim(t, wolkvoxsim.Config{HugeBodyBytes: 2 << 20})
	cfg := config(wolkvoxsim.URL(srv.URL))
	cfg.MaxAttempts, cfg.Timeout, cfg.MaxBodyBytes = 2, 200*time.Millisecond, 1<<20
	c := newClient(t, cfg, opts...)
	for _, f := range wolkvoxsim.Faults() {
		sim.Inject(f, 2)
		record(f.String(), fetchWith(c))
	}
	texts = append(texts, fmt.Sprintf("%v %+v %#v %s %d %x", c, c, c, c, c, c), fmt.Sprintf("%+v %#v", cfg, cfg))

	// A wrong token.
	_, other := startSim(t, wolkvoxsim.Config{})
	wrong := config(wolkvoxsim.URL(other.URL))
	wrong.Token = secret.New(token + "-old")
	record("wrong token", fetchWith(newClient(t, wrong, opts...)))

	// An upstream that puts the token in everything it says.
	for _, status := range []int{200, 400, 401, 403, 404, 418, 429, 500, 503} {
		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			said := "token " + r.Header.Get("wolkvox-token") + " is not welcome"
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"code":%q,"error":%q,"msg":%q}`, "403", said, said)
		}))
		record(fmt.Sprint("echo ", status), fetchWith(newClient(t, config(echo.URL+fetch.Path), opts...)))
		echo.Close()
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "<html>bad gateway for %s</html>", r.Header.Get("wolkvox-token"))
	}))
	record("echo html", fetchWith(newClient(t, config(plain.URL+fetch.Path), opts...)))
	plain.Close()

	// A redirect to another host, which must not receive the token.
	var elsewhereGotToken atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhereGotToken.Store(r.Header.Get("wolkvox-token") != "")
		_, _ = w.Write([]byte(`{"code":200,"data":[]}`))
	}))
	defer elsewhere.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1) + r.URL.RequestURI()
		http.Redirect(w, r, target, http.StatusFound)
	}))
	defer redirect.Close()
	err := fetchWith(newClient(t, config(redirect.URL+fetch.Path), opts...))
	if !errors.Is(err, fetch.KindBadRequest) || elsewhereGotToken.Load() {
		t.Errorf("redirect to another host: %v; token sent there: %v", err, elsewhereGotToken.Load())
	}
	record("redirect", err)

	// No server, a caller that gives up, a bad configuration.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	record("network", fetchWith(newClient(t, config(gone.URL+fetch.Path), opts...)))
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.Fetch(canceled, "1", start, start.Add(5*time.Minute))
	record("canceled", err)
	bad := config("")
	bad.TimeZone = "Nowhere"
	_, err = fetch.New(bad)
	record("config", err)
	bad = config("http://x" + fetch.Path)
	bad.Token = secret.New(token + "\r\n")
	_, err = fetch.New(bad)
	record("control character", err)

	var metricsText bytes.Buffer
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&metricsText, f); err != nil {
			t.Fatal(err)
		}
	}
	texts = append(texts, logs.String(), metricsText.String())

	if failures < 25 || !strings.Contains(logs.String(), "trying again") || !strings.Contains(metricsText.String(), "skill6pub_fetch_total") {
		t.Fatalf("the test did not go through the failure paths: %d failures, %d bytes of log", failures, logs.Len())
	}
	for _, s := range texts {
		if strings.Contains(s, token) {
			t.Errorf("the token leaks: %s", s)
		}
	}
	if !strings.Contains(strings.Join(texts, "\n"), secret.Redacted) {
		t.Error("an echoed token was not replaced by the redaction marker")
	}
}

// TestRedirectOnTheSameHostIsFollowed: wolkvox's own example follows
// redirects, and the token may go along on the same host.
func TestRedirectOnTheSameHostIsFollowed(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fetch.Path+"?"+r.URL.RawQuery, http.StatusMovedPermanently)
	})
	mux.HandleFunc(fetch.Path, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("wolkvox-token") != token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"code":200,"data":[{"dnis":"1"}]}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	start := day.Add(10 * time.Hour)
	rep, err := newClient(t, config(srv.URL+"/old")).Fetch(t.Context(), "1", start, start.Add(5*time.Minute))
	if err != nil || len(rep.Rows) != 1 {
		t.Errorf("%d rows, %v", len(rep.Rows), err)
	}
}
