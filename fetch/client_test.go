package fetch_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/secret"
)

const token = "tok-LEAK-9f8e7d6c"

var bogota = mustZone("America/Bogota")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var (
	// day is the day the tests fetch; now is the clock of client and
	// simulator, when all of day has happened.
	day = time.Date(2025, 6, 1, 0, 0, 0, 0, bogota)
	now = day.AddDate(0, 0, 1)
)

func config(baseURL string) fetch.Config {
	return fetch.Config{
		BaseURL:      baseURL,
		Token:        secret.New(token),
		TimeZone:     "America/Bogota",
		DailyQuota:   1000,
		Timeout:      10 * time.Second,
		MaxAttempts:  1,
		MaxBodyBytes: 64 << 20,
	}
}

func newClient(t *testing.T, cfg fetch.Config, opts ...fetch.Option) *fetch.Client {
	t.Helper()
	c, err := fetch.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startSim serves a simulator with the test token on a fake clock at now.
func startSim(t testing.TB, cfg wolkvoxsim.Config) (*wolkvoxsim.Server, *httptest.Server) {
	t.Helper()
	cfg.Token = token
	if cfg.Clock == nil {
		cfg.Clock = clock.NewFake(now)
	}
	sim := wolkvoxsim.New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

// testCtx bounds a test that waits on other goroutines, so that a bug fails
// it instead of hanging it.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNewReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	if err := os.WriteFile(good, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := config("")
	base.Server = "0032"
	tests := []struct {
		name   string
		change func(*fetch.Config)
		says   []string // one line per problem
	}{
		{"valid", func(*fetch.Config) {}, nil},
		{"token file", func(c *fetch.Config) { c.Token, c.TokenFile = secret.String{}, good }, nil},
		{"base url", func(c *fetch.Config) { c.Server, c.BaseURL = "", "http://127.0.0.1:8089/api/v2/reports_manager.php" }, nil},
		{"short server", func(c *fetch.Config) { c.Server = "32" }, []string{`WOLKVOX_SERVER="32"`}},
		{"no server", func(c *fetch.Config) { c.Server = "" }, []string{"WOLKVOX_SERVER", "WOLKVOX_BASE_URL"}},
		{"bad base url", func(c *fetch.Config) { c.BaseURL = "ftp://x" }, []string{"WOLKVOX_BASE_URL"}},
		{"base url with query", func(c *fetch.Config) { c.BaseURL = "https://x/api?token=1" }, []string{"WOLKVOX_BASE_URL"}},
		{"base url without the path", func(c *fetch.Config) { c.BaseURL = "http://127.0.0.1:8089" }, []string{`WOLKVOX_BASE_URL="http://127.0.0.1:8089" has no path: want the API's whole URL, like http://127.0.0.1:8089/api/v2/reports_manager.php`}},
		{"no token", func(c *fetch.Config) { c.Token = secret.String{} }, []string{"WOLKVOX_TOKEN or WOLKVOX_TOKEN_FILE"}},
		{"missing token file", func(c *fetch.Config) { c.TokenFile = filepath.Join(dir, "nope") }, []string{"WOLKVOX_TOKEN_FILE", "no such file"}},
		{"empty token file", func(c *fetch.Config) { c.TokenFile = empty }, []string{"WOLKVOX_TOKEN_FILE", "is empty"}},
		{"token with a line break", func(c *fetch.Config) { c.Token = secret.New(token + "\nx") }, []string{"control character"}},
		{"unknown zone", func(c *fetch.Config) { c.TimeZone = "America/Atlantis" }, []string{`WOLKVOX_TIMEZONE="America/Atlantis"`}},
		{"no zone", func(c *fetch.Config) { c.TimeZone = "" }, []string{"WOLKVOX_TIMEZONE is empty"}},
		{"zero timeout", func(c *fetch.Config) { c.Timeout = 0 }, []string{"WOLKVOX_TIMEOUT"}},
		{"zero attempts", func(c *fetch.Config) { c.MaxAttempts = 0 }, []string{"WOLKVOX_MAX_ATTEMPTS"}},
		{"zero body limit", func(c *fetch.Config) { c.MaxBodyBytes = 0 }, []string{"WOLKVOX_MAX_BODY_BYTES"}},
		{"negative quota", func(c *fetch.Config) { c.DailyQuota = -1 }, []string{"WOLKVOX_DAILY_QUOTA"}},
		{"everything", func(c *fetch.Config) {
			*c = fetch.Config{TimeZone: "Nowhere", Timeout: -1, MaxAttempts: -1, MaxBodyBytes: -1}
		}, []string{"WOLKVOX_SERVER", "WOLKVOX_TOKEN", "WOLKVOX_TIMEZONE", "WOLKVOX_TIMEOUT", "WOLKVOX_MAX_ATTEMPTS", "WOLKVOX_MAX_BODY_BYTES"}},
	}
	for _, tt := range tests {
		cfg := base
		tt.change(&cfg)
		c, err := fetch.New(cfg)
		if tt.says == nil {
			if err != nil || c == nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		lines := strings.Split(err.Error(), "\n")
		if tt.name == "everything" && len(lines) != len(tt.says) {
			t.Errorf("%s: %d problems reported, want %d: %v", tt.name, len(lines), len(tt.says), err)
		}
		for _, s := range tt.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not say %q", tt.name, err, s)
			}
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("%s: the error shows the token", tt.name)
		}
	}
}

// TestFetchBuildsTheWolkvoxRequest checks the URL built from the server id,
// the dates in the operation's zone and the token header, against a TLS
// server that answers for wv0032.wolkvox.com.
func TestFetchBuildsTheWolkvoxRequest(t *testing.T) {
	var got *http.Request
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"code":200,"error":null,"msg":"0 records were found","data":[]}`))
	}))
	defer srv.Close()
	transport := srv.Client().Transport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	transport.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	cfg := config("")
	cfg.Server = "0032"
	c := newClient(t, cfg, fetch.WithHTTPClient(&http.Client{Transport: transport}))
	if c.Location().String() != "America/Bogota" {
		t.Errorf("Location() = %v", c.Location())
	}

	start := time.Date(2025, 6, 1, 15, 0, 0, 0, time.UTC) // 10:00 in Bogota
	rep, err := c.Fetch(t.Context(), "12", start, start.Add(5*time.Minute))
	if err != nil || len(rep.Rows) != 0 {
		t.Fatal(rep, err)
	}
	if got.Host != "wv0032.wolkvox.com" || got.URL.Path != "/api/v2/reports_manager.php" {
		t.Errorf("request to %s%s", got.Host, got.URL.Path)
	}
	q := got.URL.Query()
	want := map[string]string{"api": "skill_6", "skill_id": "12", "date_ini": "20250601100000", "date_end": "20250601100459"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s=%q, want %q", k, q.Get(k), v)
		}
	}
	if len(q) != len(want) || strings.Contains(got.URL.RawQuery, token) {
		t.Errorf("query %q", got.URL.RawQuery)
	}
	if got.Header.Get("wolkvox-token") != token {
		t.Errorf("token header %q", got.Header.Get("wolkvox-token"))
	}
}

func TestFetchRefusesBadArguments(t *testing.T) {
	_, srv := startSim(t, wolkvoxsim.Config{})
	c := newClient(t, config(wolkvoxsim.URL(srv.URL)))
	start := day.Add(time.Hour)
	tests := []struct {
		skill      string
		start, end time.Time
	}{
		{"", start, start.Add(time.Minute)},
		{"1;drop", start, start.Add(time.Minute)},
		{"1", start, start},
		{"1", start, start.Add(-time.Minute)},
		{"1", start, start.Add(fetch.MaxRange + time.Second)},
	}
	for _, tt := range tests {
		_, err := c.Fetch(t.Context(), tt.skill, tt.start, tt.end)
		if !errors.Is(err, fetch.KindBadRequest) {
			t.Errorf("Fetch(%q, %v, %v) = %v, want a bad request", tt.skill, tt.start, tt.end, err)
		}
	}
	if c.CallsToday() != 0 {
		t.Errorf("bad arguments made %d calls", c.CallsToday())
	}
}

// serveFile answers every request with a testdata body.
func serveFile(t *testing.T, status int, file string, header http.Header) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchJudgesEveryAnswer(t *testing.T) {
	tests := []struct {
		file   string
		status int
		kind   fetch.Kind // 0: no error
		rows   int
		noData bool
		says   string
	}{
		{"ok.json", 200, 0, 3, false, ""},
		{"code_string.json", 200, 0, 1, false, ""},
		{"data_null.json", 200, 0, 0, false, ""},
		{"data_missing.json", 200, 0, 0, false, ""},
		{"data_empty.json", 200, 0, 0, false, ""},
		{"rows_rejected.json", 200, 0, 2, false, ""},
		{"no_data_404.json", 404, 0, 0, true, ""},
		{"no_data_under_200.json", 200, 0, 0, true, ""},
		{"not_found.html", 404, fetch.KindBadRequest, 0, false, "WOLKVOX_BASE_URL"},
		{"quota_403.json", 403, fetch.KindQuota, 0, false, "daily call quota is spent"},
		{"quota_under_200.json", 200, fetch.KindQuota, 0, false, "TOKEN LIMIT EXCEEDED"},
		{"busy_403.json", 403, fetch.KindBusy, 0, false, "one request per token"},
		{"maintenance_403.json", 403, fetch.KindMaintenance, 0, false, "maintenance"},
		{"maintenance_403.json", 503, fetch.KindMaintenance, 0, false, "maintenance"},
		{"invalid_token_403.json", 403, fetch.KindAuth, 0, false, "rejected the token"},
		{"missing_token_401.json", 401, fetch.KindAuth, 0, false, "WOLKVOX_TOKEN"},
		{"unknown_api_400.json", 400, fetch.KindBadRequest, 0, false, "api parameter is not valid"},
		{"server_500.html", 500, fetch.KindUpstream, 0, false, "500 Internal Server Error"},
		{"server_500.html", 502, fetch.KindUpstream, 0, false, "failed to answer"},
		{"not_json.txt", 429, fetch.KindBusy, 0, false, "slow down"},
		{"not_json.txt", 418, fetch.KindBadRequest, 0, false, "status 418"},
		{"truncated.json", 200, fetch.KindMalformed, 0, false, "not a skill_6 response"},
		{"wrong_types.json", 200, fetch.KindMalformed, 0, false, "data is an object"},
		{"not_json.txt", 200, fetch.KindMalformed, 0, false, "invalid JSON"},
		{"code_missing.json", 200, fetch.KindMalformed, 0, false, "no code"},
		{"data_missing_with_rows.json", 200, fetch.KindMalformed, 0, false, "announces 12 rows"},
	}
	start := day.Add(10 * time.Hour)
	for _, tt := range tests {
		srv := serveFile(t, tt.status, tt.file, nil)
		c := newClient(t, config(srv.URL+fetch.Path))
		rep, err := c.Fetch(t.Context(), "3", start, start.Add(5*time.Minute))
		name := tt.file + " " + http.StatusText(tt.status)
		if tt.kind == 0 {
			if err != nil || len(rep.Rows) != tt.rows || rep.NoData != tt.noData {
				t.Errorf("%s: %d rows, NoData %v, %v; want %d rows, NoData %v", name, len(rep.Rows), rep.NoData, err, tt.rows, tt.noData)
			}
			continue
		}
		var fe *fetch.Error
		if !errors.As(err, &fe) || !errors.Is(err, tt.kind) || fe.Kind != tt.kind {
			t.Errorf("%s: %v, want kind %v", name, err, tt.kind)
			continue
		}
		if !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "skill=3 date_ini=20250601100000 date_end=20250601100459") {
			t.Errorf("%s: %q does not say %q and which call", name, err, tt.says)
		}
		if fe.Retriable() != tt.kind.Retriable() || len(rep.Rows) != 0 {
			t.Errorf("%s: Retriable %v, rows %d", name, fe.Retriable(), len(rep.Rows))
		}
	}
}

func TestKindsAndRetriable(t *testing.T) {
	retriable := map[fetch.Kind]bool{fetch.KindBusy: true, fetch.KindMaintenance: true, fetch.KindUpstream: true}
	for _, k := range []fetch.Kind{fetch.KindAuth, fetch.KindQuota, fetch.KindBusy, fetch.KindMaintenance,
		fetch.KindUpstream, fetch.KindMalformed, fetch.KindBadRequest, fetch.KindCanceled} {
		err := error(&fetch.Error{Kind: k, Err: context.Canceled})
		if k.Retriable() != retriable[k] || !errors.Is(err, k) || k.String() == "unknown" {
			t.Errorf("kind %v: retriable %v, errors.Is %v", k, k.Retriable(), errors.Is(err, k))
		}
		for _, other := range []fetch.Kind{fetch.KindAuth, fetch.KindQuota} {
			if other != k && errors.Is(err, other) {
				t.Errorf("kind %v is also %v", k, other)
			}
		}
	}
	if !errors.Is(&fetch.Error{Kind: fetch.KindQuota}, fetch.ErrQuota) || errors.Is(errors.New("x"), fetch.ErrQuota) {
		t.Error("ErrQuota does not match KindQuota errors only")
	}
}

func TestFetchBodyLimit(t *testing.T) {
	sim, srv := startSim(t, wolkvoxsim.Config{HugeBodyBytes: 2 << 20})
	cfg := config(wolkvoxsim.URL(srv.URL))
	cfg.MaxBodyBytes = 1 << 20
	c := newClient(t, cfg)
	start := day.Add(10 * time.Hour)
	sim.Inject(wolkvoxsim.FaultHugeBody, 1)
	if _, err := c.Fetch(t.Context(), "1", start, start.Add(5*time.Minute)); !errors.Is(err, fetch.KindMalformed) || !strings.Contains(err.Error(), "WOLKVOX_MAX_BODY_BYTES") {
		t.Errorf("huge body: %v", err)
	}
	// Without a Content-Length the limit holds too.
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"code":200,"data":[`))
		for range 3000 {
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(`{"dnis":"1"},`))
		}
		_, _ = w.Write([]byte(`{"dnis":"1"}]}`))
	}))
	defer chunked.Close()
	cfg = config(chunked.URL + fetch.Path)
	cfg.MaxBodyBytes = 10000
	if _, err := newClient(t, cfg).Fetch(t.Context(), "1", start, start.Add(5*time.Minute)); !errors.Is(err, fetch.KindMalformed) {
		t.Errorf("chunked body over the limit: %v", err)
	}
	cfg.MaxBodyBytes = 100000
	if rep, err := newClient(t, cfg).Fetch(t.Context(), "1", start, start.Add(5*time.Minute)); err != nil || len(rep.Rows) != 3001 {
		t.Errorf("chunked body under the limit: %d rows, %v", len(rep.Rows), err)
	}
}

func TestFetchAgainstSimulator(t *testing.T) {
	sim, srv := startSim(t, wolkvoxsim.Config{Seed: 42, CallersPerWindow: 30})
	c := newClient(t, config(wolkvoxsim.URL(srv.URL)), fetch.WithClock(clock.NewFake(now)))
	fetched := 0
	for start := day.Add(7 * time.Hour); start.Before(day.Add(9 * time.Hour)); start = start.Add(5 * time.Minute) {
		for _, skill := range []string{"3", "all"} {
			rep, err := c.Fetch(t.Context(), skill, start, start.Add(5*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if want := sim.Rows(skill, start, start.Add(5*time.Minute)); !reflect.DeepEqual(rep.Rows, want) || len(want) == 0 {
				t.Fatalf("skill %s at %v: %d rows, simulator has %d, or they differ", skill, start, len(rep.Rows), len(want))
			}
			fetched++
		}
	}
	if c.CallsToday() != fetched || sim.Stats().Requests != fetched {
		t.Errorf("CallsToday %d, simulator saw %d, fetched %d", c.CallsToday(), sim.Stats().Requests, fetched)
	}

	// A window without calls is a valid empty window, 404 or 200 alike.
	future := now.Add(time.Hour)
	if rep, err := c.Fetch(t.Context(), "3", future, future.Add(5*time.Minute)); err != nil || !rep.NoData || len(rep.Rows) != 0 {
		t.Errorf("window without calls: %+v, %v", rep, err)
	}
	sim.Update(func(cfg *wolkvoxsim.Config) { cfg.EmptyAs200, cfg.PlainNumbers = true, true })
	if rep, err := c.Fetch(t.Context(), "3", future, future.Add(5*time.Minute)); err != nil || rep.NoData || len(rep.Rows) != 0 {
		t.Errorf("window without calls as 200: %+v, %v", rep, err)
	}
	start := day.Add(12 * time.Hour)
	if rep, err := c.Fetch(t.Context(), "3", start, start.Add(time.Hour)); err != nil || !reflect.DeepEqual(rep.Rows, sim.Rows("3", start, start.Add(time.Hour))) {
		t.Errorf("plain numbers: %d rows, %v", len(rep.Rows), err)
	}

	// Large windows: 60,000 rows or more are flagged as maybe cut short.
	sim.Update(func(cfg *wolkvoxsim.Config) { cfg.CallersPerWindow, cfg.Population = 65000, 1000000 })
	rep, err := c.Fetch(t.Context(), "3", start, start.Add(5*time.Minute))
	if err != nil || len(rep.Rows) < fetch.RowCap || !rep.MaybeTruncated {
		t.Errorf("large window: %d rows, MaybeTruncated %v, %v", len(rep.Rows), rep.MaybeTruncated, err)
	}
}

func TestFetchLateDataGrowsWhenFetchedAgain(t *testing.T) {
	fake := clock.NewFake(day.Add(10*time.Hour + 6*time.Minute))
	sim, srv := startSim(t, wolkvoxsim.Config{Seed: 1, CallersPerWindow: 100, LateData: 3 * time.Minute, Clock: fake})
	c := newClient(t, config(wolkvoxsim.URL(srv.URL)))
	start := day.Add(10 * time.Hour)
	calls := func() (n int64) {
		rep, err := c.Fetch(t.Context(), "1", start, start.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rep.Rows, sim.Rows("1", start, start.Add(5*time.Minute))) {
			t.Fatal("rows differ from the simulator's")
		}
		for _, r := range rep.Rows {
			n += r.Metrics.InboundCalls.Int
		}
		return n
	}
	first := calls()
	fake.Advance(10 * time.Minute)
	if second := calls(); second <= first {
		t.Errorf("late data: %d calls, then %d ten minutes later", first, second)
	}
}

// TestTokenLockEightCallers runs eight Fetches at once on one Client. The
// simulator holds each request for a second of its fake clock, and the test
// lets that second pass only when a request is inside, so a second request
// sent meanwhile would be seen as overlapping.
func TestTokenLockEightCallers(t *testing.T) {
	simClock := clock.NewFake(now)
	sim, srv := startSim(t, wolkvoxsim.Config{Latency: time.Second, Clock: simClock})
	cfg := config(wolkvoxsim.URL(srv.URL))
	cfg.MaxAttempts = 5
	c := newClient(t, cfg, fetch.WithClock(clock.NewAutoFake(now)))
	ctx := testCtx(t)

	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			start := day.Add(time.Duration(i) * 5 * time.Minute)
			_, err := c.Fetch(ctx, []string{"1", "all"}[i%2], start, start.Add(5*time.Minute))
			errs <- err
		})
	}
	for range callers {
		if err := simClock.WaitForSleepers(ctx, 1); err != nil {
			t.Fatal("a request never arrived: ", err)
		}
		simClock.Advance(time.Second)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	st := sim.Stats()
	if st.MaxInFlight != 1 || st.Requests != callers || st.Faults[wolkvoxsim.FaultBusy] != 0 || c.CallsToday() != callers {
		t.Errorf("max in flight %d, %d requests, %d busy, %d calls counted", st.MaxInFlight, st.Requests, st.Faults[wolkvoxsim.FaultBusy], c.CallsToday())
	}
}

// TestTokenLockAcrossClients shows what WithTokenLock is for: two Clients
// of one token overlap unless they share a lock.
func TestTokenLockAcrossClients(t *testing.T) {
	for _, shared := range []bool{true, false} {
		simClock := clock.NewFake(now)
		sim, srv := startSim(t, wolkvoxsim.Config{Latency: time.Second, Clock: simClock})
		lock := fetch.NewTokenLock()
		var clients []*fetch.Client
		for range 2 {
			var opts []fetch.Option
			if shared {
				opts = append(opts, fetch.WithTokenLock(lock))
			}
			clients = append(clients, newClient(t, config(wolkvoxsim.URL(srv.URL)), opts...))
		}
		ctx := testCtx(t)
		first := make(chan error)
		go func() {
			_, err := clients[0].Fetch(ctx, "1", day, day.Add(5*time.Minute))
			first <- err
		}()
		if err := simClock.WaitForSleepers(ctx, 1); err != nil {
			t.Fatal(err)
		}
		second := make(chan error)
		go func() {
			_, err := clients[1].Fetch(ctx, "1", day, day.Add(5*time.Minute))
			second <- err
		}()
		if shared {
			simClock.Advance(time.Second)
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			if err := simClock.WaitForSleepers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			simClock.Advance(time.Second)
			if err := <-second; err != nil {
				t.Error(err)
			}
			if st := sim.Stats(); st.MaxInFlight != 1 || st.Requests != 2 {
				t.Errorf("shared lock: %+v", st)
			}
			continue
		}
		if err := <-second; !errors.Is(err, fetch.KindBusy) {
			t.Errorf("separate locks: the second client got %v, want busy", err)
		}
		simClock.Advance(time.Second)
		if err := <-first; err != nil {
			t.Error(err)
		}
		if st := sim.Stats(); st.MaxInFlight != 2 {
			t.Errorf("separate locks: %+v", st)
		}
	}
}
