package wolkvoxsim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

const token = "sim-test-token"

// now is the simulator's clock in these tests: the day after day.
var now = day.AddDate(0, 0, 1)

func startSim(t *testing.T, cfg wolkvoxsim.Config) (*wolkvoxsim.Server, *httptest.Server) {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = token
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewFake(now)
	}
	sim := wolkvoxsim.New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

type reply struct {
	status int
	body   []byte
}

// get asks srv for query with the token header (unless tok is "").
func get(t *testing.T, srv *httptest.Server, tok, query string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, wolkvoxsim.URL(srv.URL)+"?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header["wolkvox-token"] = []string{tok}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, body}
}

func window(skill string, start time.Time, d time.Duration) string {
	return "api=skill_6&skill_id=" + skill + "&date_ini=" + start.Format("20060102150405") +
		"&date_end=" + start.Add(d-time.Second).Format("20060102150405")
}

func TestServeChecksRequestsLikeWolkvox(t *testing.T) {
	_, srv := startSim(t, wolkvoxsim.Config{})
	ok := window("1", day.Add(10*time.Hour), 5*time.Minute)
	tests := []struct {
		name   string
		tok    string
		query  string
		status int
		says   string
	}{
		{"no token", "", ok, 401, "required"},
		{"wrong token", "nope", ok, 403, "INVALID TOKEN"},
		{"unknown api", token, strings.Replace(ok, "skill_6", "skill_99", 1), 400, "api parameter is not valid"},
		{"no api", token, "skill_id=1&date_ini=20250601000000&date_end=20250601000459", 400, "api parameter is required"},
		{"missing dates", token, "api=skill_6&skill_id=1&date_ini=20250601000000", 400, "Missing parameters"},
		{"malformed date", token, "api=skill_6&skill_id=1&date_ini=2025-06-01&date_end=20250601000459", 400, "YYYYmmddHHiiss"},
		{"impossible date", token, "api=skill_6&skill_id=1&date_ini=20251301000000&date_end=20251301000459", 400, "YYYYmmddHHiiss"},
		{"bad skill", token, "api=skill_6&skill_id=abc&date_ini=20250601000000&date_end=20250601000459", 400, "skill_id"},
		{"ini after end", token, "api=skill_6&skill_id=1&date_ini=20250601000500&date_end=20250601000459", 400, "after"},
		{"over 31 days", token, window("1", day, 31*24*time.Hour+time.Second), 400, "31 days"},
		{"31 days", token, window("1", day.AddDate(0, 0, -31), 31*24*time.Hour), 200, "records were found"},
		{"future window", token, window("1", now.Add(time.Hour), 5*time.Minute), 404, "Validate dates entered"},
		{"ok", token, ok, 200, "records were found"},
		{"all", token, window("all", day.Add(10*time.Hour), 5*time.Minute), 200, "records were found"},
	}
	for _, tt := range tests {
		got := get(t, srv, tt.tok, tt.query)
		if got.status != tt.status || !strings.Contains(string(got.body), tt.says) {
			t.Errorf("%s: %d %s; want %d saying %q", tt.name, got.status, got.body, tt.status, tt.says)
		}
	}
	resp, err := srv.Client().Get(srv.URL + "/api/v2/other.php")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("another path: %d, want 404", resp.StatusCode)
	}
}

func TestServeBodyDecodesToRows(t *testing.T) {
	for _, plain := range []bool{false, true} {
		sim, srv := startSim(t, wolkvoxsim.Config{Seed: 11, PlainNumbers: plain})
		start := day.Add(8 * time.Hour)
		for _, skill := range []string{"4", "all"} {
			got := get(t, srv, token, window(skill, start, time.Hour))
			if got.status != 200 {
				t.Fatalf("status %d: %s", got.status, got.body)
			}
			if strings.Contains(string(got.body), " %") == plain || strings.Contains(string(got.body), `:00:`) == plain {
				t.Errorf("plain %v: body formatted wrongly: %.300s", plain, got.body)
			}
			rep, err := fetch.Decode(got.body)
			if err != nil {
				t.Fatal(err)
			}
			want := sim.Rows(skill, start, start.Add(time.Hour))
			if len(rep.Rejected) != 0 || !reflect.DeepEqual(rep.Rows, want) {
				t.Errorf("plain %v skill %s: decoded %d rows (%d rejected), Rows gives %d, or they differ",
					plain, skill, len(rep.Rows), len(rep.Rejected), len(want))
			}
		}
	}
}

func TestServeEmptyWindow(t *testing.T) {
	sim, srv := startSim(t, wolkvoxsim.Config{CallersPerWindow: 1e-9})
	q := window("1", day, 5*time.Minute)
	if got := get(t, srv, token, q); got.status != 404 || !strings.Contains(string(got.body), "Validate dates entered") {
		t.Errorf("empty window: %d %s", got.status, got.body)
	}
	sim.Update(func(c *wolkvoxsim.Config) { c.EmptyAs200 = true })
	got := get(t, srv, token, q)
	rep, err := fetch.Decode(got.body)
	if got.status != 200 || err != nil || len(rep.Rows) != 0 || rep.NoData {
		t.Errorf("empty window as 200: %d %s: %v", got.status, got.body, err)
	}
}

func TestServeDailyQuota(t *testing.T) {
	fake := clock.NewFake(now)
	sim, srv := startSim(t, wolkvoxsim.Config{DailyQuota: 2, Clock: fake})
	q := window("1", day, 5*time.Minute)
	for i, want := range []int{200, 200, 403, 403} {
		if got := get(t, srv, token, q); got.status != want || (want == 403 && !strings.Contains(string(got.body), "TOKEN LIMIT EXCEEDED")) {
			t.Errorf("call %d: %d %s, want %d", i+1, got.status, got.body, want)
		}
	}
	if st := sim.Stats(); st.CallsToday != 2 || st.Faults[wolkvoxsim.FaultQuota] != 2 {
		t.Errorf("stats %+v", st)
	}
	fake.Advance(24 * time.Hour) // the next day in Bogota
	if got := get(t, srv, token, q); got.status != 200 {
		t.Errorf("next day: %d %s", got.status, got.body)
	}
	sim.Update(func(c *wolkvoxsim.Config) { c.DailyQuota = 0 })
	for range 3 {
		if got := get(t, srv, token, q); got.status != 200 {
			t.Errorf("without quota: %d %s", got.status, got.body)
		}
	}
}

func TestServeRefusesConcurrentRequestsOfOneToken(t *testing.T) {
	fake := clock.NewFake(now)
	sim, srv := startSim(t, wolkvoxsim.Config{Latency: time.Second, Clock: fake})
	q := window("1", day, 5*time.Minute)
	first := make(chan reply)
	go func() { first <- get(t, srv, token, q) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.WaitForSleepers(ctx, 1); err != nil { // the first request is inside, waiting out its latency
		t.Fatal(err)
	}
	if got := get(t, srv, token, q); got.status != 403 || !strings.Contains(string(got.body), "SIMULTANEOUS") {
		t.Errorf("second request: %d %s", got.status, got.body)
	}
	if got := get(t, srv, "other", q); got.status != 403 || !strings.Contains(string(got.body), "INVALID") {
		t.Errorf("a wrong token is not concurrent with the token: %d %s", got.status, got.body)
	}
	fake.Advance(time.Second)
	if got := <-first; got.status != 200 {
		t.Errorf("first request: %d %s", got.status, got.body)
	}
	st := sim.Stats()
	if st.MaxInFlight != 2 || st.Faults[wolkvoxsim.FaultBusy] != 1 || st.Requests != 3 || st.ByStatus[200] != 1 || st.ByStatus[403] != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestServeInjectedFaults(t *testing.T) {
	sim, srv := startSim(t, wolkvoxsim.Config{HugeBodyBytes: 1 << 20})
	q := window("1", day.Add(9*time.Hour), 5*time.Minute)
	tests := []struct {
		fault  wolkvoxsim.Fault
		status int
		kind   fetch.Kind // of fetch.Decode's error; 0: decodes
		says   string
	}{
		{wolkvoxsim.Fault500, 500, 0, "500 Internal Server Error"},
		{wolkvoxsim.FaultBusy, 403, fetch.KindBusy, "SIMULTANEOUS"},
		{wolkvoxsim.FaultMaintenance, 403, fetch.KindMaintenance, "MAINTENANCE"},
		{wolkvoxsim.FaultQuota, 403, fetch.KindQuota, "TOKEN LIMIT EXCEEDED"},
		{wolkvoxsim.FaultUnauthorized, 401, fetch.KindAuth, "required"},
		{wolkvoxsim.FaultInvalidToken, 403, fetch.KindAuth, "INVALID TOKEN"},
		{wolkvoxsim.FaultTruncated, 200, fetch.KindMalformed, `"data":[`},
		{wolkvoxsim.FaultWrongTypes, 200, fetch.KindMalformed, `"data":{`},
		{wolkvoxsim.FaultCodeAsString, 200, 0, `"code":"200"`},
		{wolkvoxsim.FaultDataNull, 200, 0, `"data":null`},
		{wolkvoxsim.FaultNotJSON, 200, fetch.KindMalformed, "Too many connections"},
		{wolkvoxsim.FaultHugeBody, 200, 0, `"data":[`},
	}
	covered := map[wolkvoxsim.Fault]bool{wolkvoxsim.FaultHang: true} // below
	for _, tt := range tests {
		covered[tt.fault] = true
		sim.Inject(tt.fault, 1)
		got := get(t, srv, token, q)
		if got.status != tt.status || !strings.Contains(string(got.body), tt.says) {
			t.Errorf("%v: %d %.200s; want %d saying %q", tt.fault, got.status, got.body, tt.status, tt.says)
			continue
		}
		if tt.status != 200 && tt.status != 403 && tt.status != 401 {
			continue
		}
		_, err := fetch.Decode(got.body)
		if (tt.kind == 0) != (err == nil) || (tt.kind != 0 && !errors.Is(err, tt.kind)) {
			t.Errorf("%v: Decode = %v, want kind %v", tt.fault, err, tt.kind)
		}
		if tt.fault == wolkvoxsim.FaultHugeBody && len(got.body) < 1<<20-300 {
			t.Errorf("huge body of %d bytes", len(got.body))
		}
	}
	for _, f := range wolkvoxsim.Faults() {
		if !covered[f] {
			t.Errorf("fault %v not tested", f)
		}
	}
	if got := get(t, srv, token, q); got.status != 200 || strings.Contains(string(got.body), `"code":"200"`) {
		t.Errorf("after the faults: %d %.200s", got.status, got.body)
	}

	// A hang lasts until the client gives up.
	sim.Inject(wolkvoxsim.FaultHang, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, wolkvoxsim.URL(srv.URL)+"?"+q, nil)
		req.Header.Set("wolkvox-token", token)
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, func() bool { return sim.Stats().Faults[wolkvoxsim.FaultHang] == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("hang ended with %v", err)
	}
}

// waitFor waits until cond holds, yielding to the goroutines that make it so.
// It never waits on time passing: the test's deadline bounds it.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatal("condition never held")
		default:
		}
		runtime.Gosched()
	}
}

func TestServeRandomFaultsAndUpdate(t *testing.T) {
	sim, srv := startSim(t, wolkvoxsim.Config{ErrorRate: 1})
	q := window("1", day.Add(9*time.Hour), 5*time.Minute)
	for range 5 {
		if got := get(t, srv, token, q); got.status != 500 {
			t.Fatalf("ErrorRate 1: %d", got.status)
		}
	}
	sim.Update(func(c *wolkvoxsim.Config) { c.ErrorRate, c.MalformedRate = 0, 1 })
	for range 20 {
		got := get(t, srv, token, q)
		if _, err := fetch.Decode(got.body); got.status != 200 || !errors.Is(err, fetch.KindMalformed) {
			t.Fatalf("MalformedRate 1: %d %v", got.status, err)
		}
	}
	st := sim.Stats()
	if st.Faults[wolkvoxsim.Fault500] != 5 || st.Faults[wolkvoxsim.FaultTruncated] == 0 || st.Faults[wolkvoxsim.FaultWrongTypes] == 0 ||
		st.Faults[wolkvoxsim.FaultTruncated]+st.Faults[wolkvoxsim.FaultWrongTypes] != 20 {
		t.Errorf("stats %+v", st)
	}

	// Knobs change safely while requests run (go test -race).
	sim.Update(func(c *wolkvoxsim.Config) { c.MalformedRate = 0 })
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 10 {
				get(t, srv, token+strings.Repeat("x", i%2), q)
			}
		})
	}
	for i := range 50 {
		sim.Update(func(c *wolkvoxsim.Config) { c.ErrorRate = float64(i%2) / 2; c.Latency = 0 })
		sim.Inject(wolkvoxsim.FaultMaintenance, 1)
		_ = sim.Stats()
	}
	wg.Wait()
}

// With ChangeEveryFetch two fetches of one window never agree: the first
// row counts one more inbound call each time.
func TestServeChangeEveryFetch(t *testing.T) {
	_, srv := startSim(t, wolkvoxsim.Config{Seed: 11, ChangeEveryFetch: true})
	start := day.Add(8 * time.Hour)
	var inbound []int64
	for range 3 {
		got := get(t, srv, token, window("4", start, time.Hour))
		rep, err := fetch.Decode(got.body)
		if err != nil || len(rep.Rows) == 0 {
			t.Fatalf("status %d, %d rows: %v", got.status, len(rep.Rows), err)
		}
		inbound = append(inbound, rep.Rows[0].Metrics.InboundCalls.Int)
	}
	if inbound[1] != inbound[0]+1 || inbound[2] != inbound[1]+1 {
		t.Errorf("inbound calls of the first row over three fetches: %v, want one more each time", inbound)
	}
}
