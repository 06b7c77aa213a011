// Package wolkvoxsim is a wolkvox Reports Manager simulator for the skill_6
// report: a real http.Handler that tests, the demo (`skill6pub simulate`)
// and the benchmarks use in place of wolkvox.
//
// It behaves like the documented API: the same path and parameters, the
// wolkvox-token header (401 without it, 403 when wrong), one request per
// token at a time (403 "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER
// TOKEN"), a daily quota (403 "TOKEN LIMIT EXCEEDED"), 400 for a bad api,
// missing or malformed parameters or a range over 31 days, and 404
// "Validate dates entered" for a window without calls. Rows are strings
// formatted like wolkvox's ("28.81 %", "00:01:16").
//
// The data is a pure function of (seed, skill, window), exposed as Rows:
// Poisson arrivals, a Zipf-like population of regular callers who come back
// window after window, answered + abandoned = inbound, 0 <= sl10 <= sl20 <=
// sl30 <= 100. Knobs add latency, HTTP 500s, malformed bodies and late data;
// Inject forces the next responses to a given fault; Stats counts what was
// served, including the most requests of the token seen in flight at once.
package wolkvoxsim

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
)

// Config is the simulator's behaviour. Zero values take the defaults given
// on each field.
type Config struct {
	// Token is the wolkvox-token requests must carry; "" accepts any
	// non-empty token.
	Token string
	// Seed selects the data set.
	Seed int64
	// Location is the zone in which date_ini, date_end and the quota's day
	// are read. Default: America/Bogota (UTC-5 without the tz database).
	Location *time.Location
	// Clock tells "now": calls after it have not happened yet, and the quota
	// counts per day by it; Latency waits on it. Default: clock.Real.
	Clock clock.Clock
	// AllSkills are the skills that skill_id=all covers. Default: 1, 2, 3.
	AllSkills []string
	// CallersPerWindow is the mean number of callers (rows) per skill per
	// five minutes. Default: 40. A tiny value like 1e-9 gives empty windows.
	CallersPerWindow float64
	// Population is the number of regular callers who come back across
	// windows and skills (the others call once). Default: 2000.
	Population int
	// Latency is added to every answer that gets past the checks.
	Latency time.Duration
	// ErrorRate is the share of answers that are HTTP 500.
	ErrorRate float64
	// MalformedRate is the share of answers whose body is truncated JSON or
	// has the wrong shape.
	MalformedRate float64
	// LateData is the mean delay (exponential) before a call shows in the
	// report, so that a recent window returns more calls when fetched
	// again. 0: calls show as soon as they happen.
	LateData time.Duration
	// DailyQuota is the number of calls per day (in Location) after which
	// the token gets 403 "TOKEN LIMIT EXCEEDED". 0: no quota.
	DailyQuota int
	// PlainNumbers sends "28.81" and "76" instead of "28.81 %" and
	// "00:01:16".
	PlainNumbers bool
	// EmptyAs200 answers a window without calls with 200 and "data":[]
	// instead of 404 "Validate dates entered".
	EmptyAs200 bool
	// HugeBodyBytes is the size of a FaultHugeBody body. Default: 80 MiB,
	// over the client's default limit of 64 MiB.
	HugeBodyBytes int64
	// EchoToken plays an upstream that echoes the request's token: every
	// answer with rows starts with two more, one whose counts are the token
	// and prefixes of it (a row that does not type: a dead letter), one
	// whose DNIS is a prefix of it.
	EchoToken bool
	// ChangeEveryFetch plays a wolkvox whose past windows keep changing:
	// every answer with rows differs from every other, its first row
	// counting one more inbound call than the answer before. Two fetches
	// of one window never agree, so whatever a test finds published twice
	// went out from one fetch.
	ChangeEveryFetch bool
}

func (c Config) withDefaults() Config {
	if c.Location == nil {
		loc, err := time.LoadLocation("America/Bogota")
		if err != nil {
			loc = time.FixedZone("America/Bogota", -5*60*60) // no DST since 1993
		}
		c.Location = loc
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if len(c.AllSkills) == 0 {
		c.AllSkills = []string{"1", "2", "3"}
	}
	if c.CallersPerWindow == 0 {
		c.CallersPerWindow = 40
	}
	if c.Population <= 0 {
		c.Population = 2000
	}
	c.Population = min(c.Population, dnisSpace)
	if c.HugeBodyBytes <= 0 {
		c.HugeBodyBytes = 80 << 20
	}
	return c
}

// Fault is a failure the simulator can be told to serve (Inject) or serves
// by itself (ErrorRate, MalformedRate, concurrent requests, the quota).
type Fault uint8

// The faults.
const (
	Fault500          Fault = iota + 1 // HTTP 500 with an HTML page
	FaultBusy                          // 403 EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN
	FaultMaintenance                   // 403 server in maintenance
	FaultQuota                         // 403 TOKEN LIMIT EXCEEDED
	FaultUnauthorized                  // 401 token required
	FaultInvalidToken                  // 403 invalid token
	FaultHang                          // no answer until the request's context ends
	FaultTruncated                     // 200 with the JSON cut in the middle
	FaultWrongTypes                    // 200 with data an object instead of an array
	FaultCodeAsString                  // the normal answer with "code":"200"
	FaultDataNull                      // 200 with "data":null and "0 records were found"
	FaultHugeBody                      // 200 with a body of HugeBodyBytes
	FaultNotJSON                       // 200 with a plain-text body
)

var faultNames = [...]string{
	Fault500: "500", FaultBusy: "busy", FaultMaintenance: "maintenance", FaultQuota: "quota",
	FaultUnauthorized: "unauthorized", FaultInvalidToken: "invalid_token", FaultHang: "hang",
	FaultTruncated: "truncated", FaultWrongTypes: "wrong_types", FaultCodeAsString: "code_as_string",
	FaultDataNull: "data_null", FaultHugeBody: "huge_body", FaultNotJSON: "not_json",
}

func (f Fault) String() string {
	if int(f) < len(faultNames) && faultNames[f] != "" {
		return faultNames[f]
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// Faults lists every fault, for tests that go through all of them.
func Faults() []Fault {
	var all []Fault
	for f := Fault500; int(f) < len(faultNames); f++ {
		all = append(all, f)
	}
	return all
}

// Stats counts what the simulator served.
type Stats struct {
	Requests    int           // requests on the API path
	ByStatus    map[int]int   // answers by HTTP status (a hang counts as 0)
	Faults      map[Fault]int // fault answers by kind, whatever caused them
	MaxInFlight int           // most requests with a valid token in flight at once
	CallsToday  int           // calls counted against DailyQuota today
}

// Server is the simulator. Its methods are safe for concurrent use.
type Server struct {
	mu         sync.Mutex // guards what follows
	cfg        Config
	injected   []Fault
	rng        *rand.Rand
	inFlight   int
	stats      Stats
	quotaDay   string
	quotaCalls int
	changes    int64 // answers changed by ChangeEveryFetch
}

// New returns a simulator; serve it with net/http (httptest.NewServer(s)).
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	return &Server{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(uint64(cfg.Seed), 0x77_6f_6c_6b)),
		stats: Stats{ByStatus: map[int]int{}, Faults: map[Fault]int{}},
	}
}

// Config returns the current configuration, defaults filled in.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Update changes the configuration while the simulator runs:
//
//	sim.Update(func(c *wolkvoxsim.Config) { c.ErrorRate = 0.2 })
func (s *Server) Update(change func(*Config)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(&s.cfg)
	s.cfg = s.cfg.withDefaults()
}

// Inject makes the next n answers the fault f, after any faults injected
// before. They apply to every request on the API path, before any check.
func (s *Server) Inject(f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.injected = append(s.injected, f)
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByStatus = make(map[int]int, len(s.stats.ByStatus))
	for k, v := range s.stats.ByStatus {
		st.ByStatus[k] = v
	}
	st.Faults = make(map[Fault]int, len(s.stats.Faults))
	for k, v := range s.stats.Faults {
		st.Faults[k] = v
	}
	if s.quotaDay == s.cfg.Clock.Now().In(s.cfg.Location).Format(time.DateOnly) {
		st.CallsToday = s.quotaCalls
	}
	return st
}

// Rows returns what the simulator serves now for skill over [start, end):
// Rows with the current configuration and the simulator's clock.
func (s *Server) Rows(skill string, start, end time.Time) []fetch.Row {
	cfg := s.Config()
	return Rows(cfg, skill, start, end, cfg.Clock.Now())
}

// URL returns the API URL of a simulator served at base (like
// "http://127.0.0.1:8089"): the value for WOLKVOX_BASE_URL.
func URL(base string) string { return base + fetch.Path }

// ServeHTTP answers like wolkvox's reports_manager.php.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != fetch.Path {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	cfg := s.cfg
	s.stats.Requests++
	var fault Fault
	if len(s.injected) > 0 {
		fault = s.injected[0]
		s.injected = s.injected[1:]
	}
	token := r.Header.Get("wolkvox-token")
	valid := token != "" && (cfg.Token == "" || token == cfg.Token)
	concurrent := false
	if valid {
		s.inFlight++
		s.stats.MaxInFlight = max(s.stats.MaxInFlight, s.inFlight)
		concurrent = s.inFlight > 1
	}
	s.mu.Unlock()
	if valid {
		defer func() {
			s.mu.Lock()
			s.inFlight--
			s.mu.Unlock()
		}()
	}
	a := answer{w: w, s: s}

	if fault != 0 && fault != FaultCodeAsString {
		s.serveFault(r.Context(), a, fault, cfg)
		return
	}
	switch {
	case r.Method != http.MethodGet:
		a.json(http.StatusMethodNotAllowed, wolkvoxError(405, "Method Not Allowed", "Only GET is allowed"))
		return
	case token == "":
		s.serveFault(r.Context(), a, FaultUnauthorized, cfg)
		return
	case !valid:
		s.serveFault(r.Context(), a, FaultInvalidToken, cfg)
		return
	case concurrent:
		s.serveFault(r.Context(), a, FaultBusy, cfg)
		return
	case !s.countCall(cfg):
		s.serveFault(r.Context(), a, FaultQuota, cfg)
		return
	}
	q, problem := parseQuery(r, cfg.Location)
	if problem != "" {
		a.json(http.StatusBadRequest, wolkvoxError(400, "Bad Request", problem))
		return
	}
	if cfg.Latency > 0 && cfg.Clock.Sleep(r.Context(), cfg.Latency) != nil {
		return
	}
	if f := s.randomFault(cfg); f != 0 {
		s.serveFault(r.Context(), a, f, cfg)
		return
	}
	rows := Rows(cfg, q.skill, q.start, q.end, cfg.Clock.Now())
	if len(rows) == 0 && !cfg.EmptyAs200 {
		a.json(http.StatusNotFound, wolkvoxError(404, "Validate dates entered", "Validate dates entered"))
		return
	}
	if fault == FaultCodeAsString {
		s.countFault(fault)
	}
	if cfg.ChangeEveryFetch {
		s.change(rows)
	}
	body := AppendBody(make([]byte, 0, 64+len(rows)*260), rows,
		Format{PlainNumbers: cfg.PlainNumbers, CodeAsString: fault == FaultCodeAsString})
	if cfg.EchoToken {
		body = echoToken(body, token)
	}
	a.json(http.StatusOK, body)
}

// change adds one more inbound call to the first row than the last answer
// changed did (ChangeEveryFetch).
func (s *Server) change(rows []fetch.Row) {
	s.mu.Lock()
	s.changes++
	n := s.changes
	s.mu.Unlock()
	m := &rows[0].Metrics
	m.InboundCalls = schema.IntOf(m.InboundCalls.Int + n)
}

// countCall counts a call against the daily quota; false when it is spent.
func (s *Server) countCall(cfg Config) bool {
	day := cfg.Clock.Now().In(cfg.Location).Format(time.DateOnly)
	s.mu.Lock()
	defer s.mu.Unlock()
	if day != s.quotaDay {
		s.quotaDay, s.quotaCalls = day, 0
	}
	if cfg.DailyQuota > 0 && s.quotaCalls >= cfg.DailyQuota {
		return false
	}
	s.quotaCalls++
	return true
}

func (s *Server) randomFault(cfg Config) Fault {
	if cfg.ErrorRate <= 0 && cfg.MalformedRate <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.rng.Float64()
	switch {
	case u < cfg.ErrorRate:
		return Fault500
	case u < cfg.ErrorRate+cfg.MalformedRate:
		if s.rng.IntN(2) == 0 {
			return FaultTruncated
		}
		return FaultWrongTypes
	}
	return 0
}

func (s *Server) countFault(f Fault) {
	s.mu.Lock()
	s.stats.Faults[f]++
	s.mu.Unlock()
}

func (s *Server) countStatus(status int) {
	s.mu.Lock()
	s.stats.ByStatus[status]++
	s.mu.Unlock()
}

// sampleBody is a small valid answer that malformed faults cut or bend.
const sampleRow = `{"dnis":"3001234567","inbound_calls":"2","answer_calls":"2","abandon_calls":"0","service_level_10seg":"100.00 %","service_level_20seg":"100.00 %","service_level_30seg":"100.00 %","abandon":"0.00 %","asa":"00:00:05","ata":""}`

func (s *Server) serveFault(ctx context.Context, a answer, f Fault, cfg Config) {
	s.countFault(f)
	switch f {
	case Fault500:
		a.write(http.StatusInternalServerError, "text/html",
			[]byte("<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n</body>\r\n</html>\r\n"))
	case FaultBusy:
		a.json(http.StatusForbidden, wolkvoxError(403, "Forbidden", "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN"))
	case FaultMaintenance:
		a.json(http.StatusForbidden, wolkvoxError(403, "Forbidden", "SERVER IN MAINTENANCE, PLEASE TRY AGAIN LATER"))
	case FaultQuota:
		a.json(http.StatusForbidden, wolkvoxError(403, "Forbidden", "TOKEN LIMIT EXCEEDED"))
	case FaultUnauthorized:
		a.json(http.StatusUnauthorized, wolkvoxError(401, "Unauthorized", "The wolkvox-token header is required"))
	case FaultInvalidToken:
		a.json(http.StatusForbidden, wolkvoxError(403, "Forbidden", "INVALID TOKEN"))
	case FaultHang:
		s.countStatus(0)
		<-ctx.Done()
	case FaultTruncated:
		body := `{"code":200,"error":null,"msg":"2 records were found","data":[` + sampleRow + "," + sampleRow + "]}"
		a.json(http.StatusOK, []byte(body[:len(body)/2]))
	case FaultWrongTypes:
		a.json(http.StatusOK, []byte(`{"code":200,"error":null,"msg":"1 records were found","data":`+sampleRow+`}`))
	case FaultDataNull:
		a.json(http.StatusOK, []byte(`{"code":200,"error":null,"msg":"0 records were found","data":null}`))
	case FaultNotJSON:
		a.write(http.StatusOK, "text/plain", []byte("Warning: mysqli_connect(): Too many connections in /var/www/api/v2/reports_manager.php on line 12\n"))
	case FaultHugeBody:
		a.huge(cfg.HugeBodyBytes)
	}
}

// echoToken puts two rows that carry token and prefixes of it at the head
// of body's data array.
func echoToken(body []byte, token string) []byte {
	prefix := func(n int) string { return strconv.Quote(token[:min(n, len(token))]) }
	echo := `{"dnis":` + prefix(11) + `,"inbound_calls":` + strconv.Quote(token) + `,"answer_calls":` + prefix(8) +
		`,"abandon_calls":"0","service_level_10seg":"","service_level_20seg":"","service_level_30seg":"","abandon":"","asa":"","ata":""},` +
		`{"dnis":` + prefix(9) + `,"inbound_calls":"1","answer_calls":"1","abandon_calls":"0","service_level_10seg":"100.00 %","service_level_20seg":"100.00 %","service_level_30seg":"100.00 %","abandon":"0.00 %","asa":"00:00:05","ata":""}`
	at := bytes.Index(body, []byte(`"data":[`)) + len(`"data":[`)
	out := append(append([]byte(nil), body[:at]...), echo...)
	if body[at] != ']' {
		out = append(out, ',')
	}
	return append(out, body[at:]...)
}

func wolkvoxError(code int, errText, msg string) []byte {
	b := []byte(`{"code":`)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"error":`...)
	b = strconv.AppendQuote(b, errText)
	b = append(b, `,"msg":`...)
	b = strconv.AppendQuote(b, msg)
	return append(b, `,"data":null}`...)
}

// answer writes one response and counts its status.
type answer struct {
	w http.ResponseWriter
	s *Server
}

func (a answer) json(status int, body []byte) { a.write(status, "application/json", body) }

// write sends the body with its length, holding the last byte back until the
// handler returns: net/http flushes it only then, after the request left
// the in-flight count, so a client that reads a whole answer never finds its
// next request counted as concurrent with this one.
func (a answer) write(status int, contentType string, body []byte) {
	a.s.countStatus(status)
	h := a.w.Header()
	h.Set("Content-Type", contentType+"; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	a.w.WriteHeader(status)
	if len(body) == 0 {
		return
	}
	if _, err := a.w.Write(body[:len(body)-1]); err != nil {
		return
	}
	_, _ = a.w.Write(body[len(body)-1:])
}

// huge streams a valid answer of about size bytes without holding it in
// memory; it stops when the client goes away.
func (a answer) huge(size int64) {
	const head = `{"code":200,"error":null,"msg":"many records were found","data":[`
	const tail = "]}"
	rowBytes := int64(len(sampleRow) + 1)
	n := max(1, (size-int64(len(head)+len(tail))+1)/rowBytes)
	a.s.countStatus(http.StatusOK)
	h := a.w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Content-Length", strconv.FormatInt(int64(len(head)+len(tail))+n*rowBytes-1, 10))
	a.w.WriteHeader(http.StatusOK)
	chunk := make([]byte, 0, 64<<10)
	chunk = append(chunk, head...)
	for i := range n {
		if i > 0 {
			chunk = append(chunk, ',')
		}
		chunk = append(chunk, sampleRow...)
		if len(chunk) > 60<<10 {
			if _, err := a.w.Write(chunk); err != nil {
				return
			}
			chunk = chunk[:0]
		}
	}
	chunk = append(chunk, tail...)
	_, _ = a.w.Write(chunk)
}

// query is a checked request.
type query struct {
	skill      string
	start, end time.Time // [start, end): end is one second after date_end
}

// parseQuery checks the parameters as wolkvox does; the problem is the msg of
// its 400 answer.
func parseQuery(r *http.Request, loc *time.Location) (query, string) {
	v := r.URL.Query()
	if api := v.Get("api"); api != "skill_6" {
		if api == "" {
			return query{}, "The api parameter is required"
		}
		return query{}, "The api parameter is not valid"
	}
	q := query{skill: v.Get("skill_id")}
	if q.skill == "" || v.Get("date_ini") == "" || v.Get("date_end") == "" {
		return query{}, "Missing parameters: skill_id, date_ini and date_end are required"
	}
	if q.skill != "all" {
		if _, err := strconv.ParseUint(q.skill, 10, 32); err != nil {
			return query{}, "The skill_id parameter must be a number or all"
		}
	}
	ini, err1 := parseDate(v.Get("date_ini"), loc)
	last, err2 := parseDate(v.Get("date_end"), loc)
	switch {
	case err1 != nil || err2 != nil:
		return query{}, "Dates must have the format YYYYmmddHHiiss"
	case ini.After(last):
		return query{}, "date_ini must not be after date_end"
	case last.Add(time.Second).Sub(ini) > fetch.MaxRange:
		return query{}, "The date range must not exceed 31 days"
	}
	q.start, q.end = ini, last.Add(time.Second)
	return q, ""
}

func parseDate(s string, loc *time.Location) (time.Time, error) {
	if len(s) != 14 {
		return time.Time{}, strconv.ErrSyntax
	}
	return time.ParseInLocation("20060102150405", s, loc)
}
