// Package fetch is skill6pub's wolkvox client: it asks the Reports Manager
// API for the skill_6 report ("calls and service level by DNIS") of one
// window and returns typed rows.
//
// It builds the URL from the operation's server id, sends the token in the
// wolkvox-token header (never in the URL), lets one request per token be in
// flight at a time, bounds each call with a timeout and the body with a size
// limit, retries what is worth retrying with exponential backoff and full
// jitter, counts the calls of the day for the quota, and gives every failure
// a Kind. The token never appears in an error, a log line or a metric.
//
// The simulator that plays wolkvox in tests, the demo and the benchmarks is
// in the sub-package wolkvoxsim.
package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/secret"
)

// Path is the Reports Manager endpoint on every wolkvox server.
const Path = "/api/v2/reports_manager.php"

// MaxRange is the longest window wolkvox accepts in one call.
const MaxRange = 31 * 24 * time.Hour

// dateLayout is wolkvox's YYYYmmddHHiiss.
const dateLayout = "20060102150405"

// tokenHeader is sent in lower case as wolkvox's own example does: a PHP
// server reading getallheaders() can be case-sensitive.
const tokenHeader = "wolkvox-token"

// Default backoff between tries; see WithBackoff.
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 30 * time.Second
)

// maxRetryAfter caps how long a Retry-After header can make Fetch wait.
const maxRetryAfter = 5 * time.Minute

// maxRedirects follows curl's CURLOPT_MAXREDIRS in wolkvox's example.
const maxRedirects = 10

// Client calls the skill_6 report. It is safe for concurrent use, and one
// Client should serve every goroutine that uses its token (live polling,
// catch-up, backfill): its TokenLock makes them take turns. Two Clients
// with the same token take turns only if built with one shared TokenLock
// (WithTokenLock).
type Client struct {
	endpoint string
	token    secret.String
	loc      *time.Location
	timeout  time.Duration
	attempts int
	maxBody  int64
	quota    int

	http        *http.Client
	clock       clock.Clock
	log         zerolog.Logger
	metrics     *metrics.Metrics
	lock        *TokenLock
	backoffBase time.Duration
	backoffMax  time.Duration

	mu    sync.Mutex // guards what follows
	rng   *rand.Rand // nil: the goroutine-safe global source
	calls callCount  // calls that reached wolkvox today, in loc
}

// Option changes a default of New.
type Option func(*Client)

// WithClock sets the clock used for backoff waits, call durations and the
// day of the call counter. Default: clock.Real. The per-call timeout is
// always real time, since it bounds a real network call.
func WithClock(c clock.Clock) Option { return func(cl *Client) { cl.clock = c } }

// WithHTTPClient sets the HTTP client. Default: a client of its own with a
// clone of http.DefaultTransport. Fetch uses a copy of it whose redirect
// policy refuses redirects to another host, which would receive the token.
func WithHTTPClient(h *http.Client) Option { return func(cl *Client) { cl.http = h } }

// WithLogger sets the logger. Default: no logging. Retries are logged at
// warn, each call at debug, quota thresholds at warn.
func WithLogger(l zerolog.Logger) Option { return func(cl *Client) { cl.log = l } }

// WithMetrics records every call in m (FetchDuration, FetchOutcomes,
// CallsToday). Default: nil, nothing recorded.
func WithMetrics(m *metrics.Metrics) Option { return func(cl *Client) { cl.metrics = m } }

// WithCallCountFile keeps the day's count of calls that reached wolkvox in
// the file at path (CallCountFile in STATE_DIR), so that it survives a
// restart. Default: in memory only.
func WithCallCountFile(path string) Option { return func(cl *Client) { cl.calls.path = path } }

// WithRand sets the source of the backoff jitter, for tests that want
// reproducible waits; Fetch guards it with a mutex. Default: math/rand/v2's
// global source.
func WithRand(r *rand.Rand) Option { return func(cl *Client) { cl.rng = r } }

// WithTokenLock makes the Client take turns with every other Client built
// with the same lock. Default: a lock of its own. nil keeps the default.
func WithTokenLock(l *TokenLock) Option { return func(cl *Client) { cl.lock = l } }

// WithBackoff sets the backoff: before try n+1 Fetch waits a random time
// between 0 and min(max, base*2^(n-1)) ("full jitter"), or longer if the
// server sent Retry-After. Default: DefaultBackoffBase, DefaultBackoffMax.
func WithBackoff(base, max time.Duration) Option {
	return func(cl *Client) { cl.backoffBase, cl.backoffMax = base, max }
}

// TokenLock lets one request at a time use a token, as wolkvox demands. It
// is held around each HTTP request and the reading of its body, never
// around a backoff wait, and waiting for it stops when the caller's context
// ends. Waiters get their turn in arrival order.
type TokenLock struct{ turn chan struct{} }

// NewTokenLock returns a free lock.
func NewTokenLock() *TokenLock { return &TokenLock{turn: make(chan struct{}, 1)} }

func (l *TokenLock) acquire(ctx context.Context) error {
	select {
	case l.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *TokenLock) release() { <-l.turn }

// New checks cfg and builds a Client. It reports every problem of cfg at
// once, one error per problem (errors.Join), naming the variable to fix.
func New(cfg Config, opts ...Option) (*Client, error) {
	c := &Client{
		timeout:     cfg.Timeout,
		attempts:    cfg.MaxAttempts,
		maxBody:     cfg.MaxBodyBytes,
		quota:       cfg.DailyQuota,
		clock:       clock.Real{},
		log:         zerolog.Nop(),
		backoffBase: DefaultBackoffBase,
		backoffMax:  DefaultBackoffMax,
	}
	for _, o := range opts {
		o(c)
	}
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	var err error
	if c.endpoint, err = endpointOf(cfg); err != nil {
		problems = append(problems, err)
	}
	switch {
	case cfg.TokenFile != "":
		c.token, err = secret.FromFile(cfg.TokenFile)
		if err != nil {
			add("WOLKVOX_TOKEN_FILE: %w", err)
		} else if c.token.IsZero() {
			add("WOLKVOX_TOKEN_FILE %s is empty", cfg.TokenFile)
		}
	case cfg.Token.IsZero():
		add("no wolkvox token: set WOLKVOX_TOKEN or WOLKVOX_TOKEN_FILE")
	default:
		c.token = cfg.Token
	}
	if !c.token.IsZero() && strings.ContainsFunc(c.token.Reveal(), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		add("the wolkvox token holds a control character (a line break in the token file?): an HTTP header cannot carry it")
	}
	if cfg.TimeZone == "" {
		add("WOLKVOX_TIMEZONE is empty: set the operation's IANA time zone (like America/Bogota)")
	} else if c.loc, err = time.LoadLocation(cfg.TimeZone); err != nil {
		add("WOLKVOX_TIMEZONE=%q is not a known IANA time zone (like America/Bogota): %w", cfg.TimeZone, err)
	}
	if cfg.Timeout <= 0 {
		add("WOLKVOX_TIMEOUT=%s: want a positive duration (wolkvox stops calls at 60s)", cfg.Timeout)
	}
	if cfg.MaxAttempts <= 0 {
		add("WOLKVOX_MAX_ATTEMPTS=%d: want at least 1", cfg.MaxAttempts)
	}
	if cfg.MaxBodyBytes <= 0 {
		add("WOLKVOX_MAX_BODY_BYTES=%d: want a positive size", cfg.MaxBodyBytes)
	}
	if cfg.DailyQuota < 0 {
		add("WOLKVOX_DAILY_QUOTA=%d: want 0 (no check) or more", cfg.DailyQuota)
	}
	if c.backoffBase <= 0 || c.backoffMax < c.backoffBase {
		add("backoff base %s and max %s: want 0 < base <= max", c.backoffBase, c.backoffMax)
	}
	if c.clock == nil {
		add("WithClock(nil)")
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	if c.lock == nil {
		c.lock = NewTokenLock()
	}
	base := c.http
	if base == nil {
		base = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	hc := *base
	hc.CheckRedirect = sameHostRedirects
	c.http = &hc
	if u, _ := url.Parse(c.endpoint); u.Scheme == "http" && !isLoopback(u.Hostname()) {
		c.log.Warn().Str("url", c.endpoint).Msg("WOLKVOX_BASE_URL is plain http: the token travels unencrypted")
	}
	return c, nil
}

// endpointOf returns the API URL without its query.
func endpointOf(cfg Config) (string, error) {
	if cfg.BaseURL == "" {
		if len(cfg.Server) != 4 || !allDigits([]byte(cfg.Server)) {
			return "", fmt.Errorf("WOLKVOX_SERVER=%q: want the operation's 4-digit server id (like 0032), or set WOLKVOX_BASE_URL", cfg.Server)
		}
		return "https://wv" + cfg.Server + ".wolkvox.com" + Path, nil
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("WOLKVOX_BASE_URL=%q: want an http(s) URL without query, like https://wv0032.wolkvox.com%s", cfg.BaseURL, Path)
	}
	// Without a path every call would be a 404 at the first fetch: the
	// variable is the API's whole URL, which a proxy may put elsewhere, so
	// it is refused rather than completed by a guess.
	if strings.Trim(u.Path, "/") == "" {
		return "", fmt.Errorf("WOLKVOX_BASE_URL=%q has no path: want the API's whole URL, like %s://%s%s", cfg.BaseURL, u.Scheme, u.Host, Path)
	}
	return cfg.BaseURL, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameHostRedirects follows redirects like curl in wolkvox's example, but
// only on the same host: the token header would go along to another.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects || req.URL.Host != via[0].URL.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

// Format prints the Client as its endpoint and zone, whatever the verb:
// fmt would print the token inside an unexported field otherwise.
func (c *Client) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "fetch.Client{%s, %s}", c.endpoint, c.loc)
}

// Location returns the operation's time zone, in which dates are sent.
func (c *Client) Location() *time.Location { return c.loc }

// CallsToday returns the HTTP calls that reached wolkvox today, a calendar
// day in the operation's time zone by the Client's clock, with the calls
// of earlier runs of the day when the count is kept in a file
// (WithCallCountFile). Every try that reached wolkvox counts, failed ones
// too: wolkvox's quota counts them. A call refused before it was sent (a
// connection refused, a name that does not resolve) does not.
func (c *Client) CallsToday() int {
	day := c.clock.Now().In(c.loc).Format(time.DateOnly)
	c.mu.Lock()
	err := c.calls.load()
	n := c.calls.today(day)
	c.mu.Unlock()
	if err != nil {
		c.log.Warn().Err(err).Msg("cannot read the daily call count")
	}
	return n
}

// countCall counts one call that reached wolkvox and warns as the quota
// runs out.
func (c *Client) countCall() {
	day := c.clock.Now().In(c.loc).Format(time.DateOnly)
	c.mu.Lock()
	loadErr := c.calls.load()
	n, err := c.calls.add(day)
	c.mu.Unlock()
	if err := errors.Join(loadErr, err); err != nil {
		c.log.Warn().Err(err).Msg("cannot keep the daily call count in STATE_DIR: after a restart it counts from 0")
	}
	if c.metrics != nil {
		c.metrics.CallsToday.Set(float64(n))
	}
	if c.quota > 0 && (n == c.quota*9/10 || n == c.quota) {
		c.log.Warn().Int("calls_today", n).Int("daily_quota", c.quota).Str("day", day).
			Msg("this process has used this share of the licence's daily wolkvox quota (WOLKVOX_DAILY_QUOTA); other tokens of the licence count too")
	}
}

// Fetch returns the skill_6 report of skillID (digits, or "all") for the
// window [start, end): date_ini is start and date_end the last second before
// end, both in the operation's time zone.
//
// Busy, maintenance and upstream failures are tried again, up to
// Config.MaxAttempts tries in all, after backoff waits on the Client's
// clock; the other kinds return at once. Fetch returns as soon as ctx ends,
// with a KindCanceled error. Every error is an *Error.
func (c *Client) Fetch(ctx context.Context, skillID string, start, end time.Time) (Report, error) {
	ini := start.In(c.loc).Format(dateLayout)
	last := end.Add(-time.Second).In(c.loc).Format(dateLayout)
	if msg := checkWindow(skillID, start, end); msg != "" {
		op := "skill_6 skill=" + quoteShort(skillID) + " date_ini=" + ini + " date_end=" + last
		return Report{}, &Error{Kind: KindBadRequest, Op: op, Msg: msg}
	}
	op := "skill_6 skill=" + skillID + " date_ini=" + ini + " date_end=" + last
	target := c.endpoint + "?api=skill_6&skill_id=" + url.QueryEscape(skillID) + "&date_ini=" + ini + "&date_end=" + last
	log := c.log.With().Str("skill", skillID).Str("date_ini", ini).Str("date_end", last).Logger()
	began := c.clock.Now()
	for try := 1; ; try++ {
		rep, fe := c.try(ctx, skillID, target, log)
		if fe == nil {
			return rep, nil
		}
		fe.Op = op
		if !fe.Retriable() {
			return Report{}, fe
		}
		if try >= c.attempts {
			fe.Msg += fmt.Sprintf(" (gave up after %d tries in %s)", try, c.clock.Now().Sub(began).Round(time.Millisecond))
			return Report{}, fe
		}
		wait := c.backoff(try, fe.retryAfter)
		log.Warn().Int("try", try).Int("max_tries", c.attempts).Stringer("kind", fe.Kind).
			Dur("wait", wait).Str("error", fe.Error()).Msg("wolkvox call failed; trying again")
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return Report{}, &Error{Kind: KindCanceled, Op: op, Err: err,
				Msg: "stopped while waiting to try again after: " + fe.Msg}
		}
	}
}

// checkWindow says what is wrong with Fetch's arguments, "" if nothing.
func checkWindow(skillID string, start, end time.Time) string {
	switch {
	case skillID != "all" && (skillID == "" || !allDigits([]byte(skillID))):
		return fmt.Sprintf(`skill id %s: want the skill's number or "all"`, quoteShort(skillID))
	case end.Sub(start) < time.Second:
		return "the window ends before it starts"
	case end.Sub(start) > MaxRange:
		return fmt.Sprintf("the window spans %s; wolkvox accepts at most 31 days per call", end.Sub(start))
	}
	return ""
}

// backoff returns the wait before try+1.
func (c *Client) backoff(try int, retryAfter time.Duration) time.Duration {
	ceiling := c.backoffMax
	if try-1 < 62 && c.backoffBase <= c.backoffMax>>(try-1) {
		ceiling = c.backoffBase << (try - 1)
	}
	c.mu.Lock()
	var wait time.Duration
	if c.rng != nil {
		wait = time.Duration(c.rng.Int64N(int64(ceiling) + 1))
	} else {
		wait = time.Duration(rand.Int64N(int64(ceiling) + 1))
	}
	c.mu.Unlock()
	return max(wait, min(retryAfter, maxRetryAfter))
}

// errCallTimeout is the cause of a call's own timeout, told apart from the
// caller's context ending.
var errCallTimeout = errors.New("call timeout")

// try makes one call: the exchange under the token lock, then the judging
// of the answer (decoding a large body takes a while) outside it.
//
// What wolkvox sends back is scrubbed of the token and of prefixes of it
// before anything reads it: an upstream that echoes the token in an error
// or in a row would otherwise carry it into error messages, logs and, in a
// dead letter's reason and raw row, to Kafka.
func (c *Client) try(ctx context.Context, skill, target string, log zerolog.Logger) (Report, *Error) {
	if err := c.lock.acquire(ctx); err != nil {
		return Report{}, canceled(err)
	}
	if err := ctx.Err(); err != nil {
		c.lock.release()
		return Report{}, canceled(err)
	}
	began := c.clock.Now()
	ans, fe := c.exchange(ctx, target)
	c.lock.release()
	if ans.reached {
		c.countCall()
	}
	ans.body = c.token.ScrubBytes(ans.body)
	var rep Report
	if fe == nil {
		rep, fe = judge(ans)
	}
	if fe != nil {
		fe.Msg = c.token.Scrub(fe.Msg)
		if fe.Err != nil {
			fe.Err = scrubbedError{text: c.token.Scrub(fe.Err.Error()), err: fe.Err}
		}
	}
	took := c.clock.Now().Sub(began)

	outcome := "ok"
	switch {
	case fe != nil:
		outcome = fe.Kind.String()
	case rep.NoData:
		outcome = "no_data"
	}
	if m := c.metrics; m != nil {
		m.FetchDuration.WithLabelValues(skill, outcome).Observe(took.Seconds())
		m.FetchOutcomes.WithLabelValues(skill, outcome).Inc()
		m.Rows.WithLabelValues(skill).Add(float64(len(rep.Rows) + len(rep.Rejected)))
		m.RejectedRows.WithLabelValues(skill).Add(float64(len(rep.Rejected)))
		if rep.MaybeTruncated {
			m.Truncated.WithLabelValues(skill).Inc()
		}
	}
	log.Debug().Int("status", ans.status).Str("outcome", outcome).Dur("took", took).
		Int("rows", len(rep.Rows)).Int("rejected", len(rep.Rejected)).Msg("wolkvox call")
	if rep.MaybeTruncated {
		log.Error().Int("rows", len(rep.Rows)+len(rep.Rejected)).Int("row_cap", RowCap).
			Msgf("the answer for this window has %d rows, wolkvox's cap: rows may be missing (the window goes out with maybe_truncated: true). Shorten INTERVAL so that a window stays under the cap", RowCap)
	}
	return rep, fe
}

// scrubbedError is an error from outside (a transport error that quotes
// what the server said) whose text is scrubbed of the token; it still
// unwraps to the original for errors.Is and errors.As.
type scrubbedError struct {
	text string
	err  error
}

func (e scrubbedError) Error() string { return e.text }
func (e scrubbedError) Unwrap() error { return e.err }

func canceled(err error) *Error {
	return &Error{Kind: KindCanceled, Msg: "stopped: the caller's context ended", Err: err}
}

// answer is a complete HTTP answer.
type answer struct {
	reached bool // the request was sent: wolkvox's quota counts it
	status  int
	header  http.Header
	body    []byte
}

// exchange sends one request and reads its whole answer: until then
// wolkvox counts the request as in flight.
func (c *Client) exchange(ctx context.Context, target string) (answer, *Error) {
	cctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errCallTimeout)
	defer cancel()
	// The request reached wolkvox once it was written on a connection:
	// a refused connection is not a call, a timeout after it is.
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sent.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(cctx, trace), http.MethodGet, target, nil)
	if err != nil {
		return answer{}, &Error{Kind: KindBadRequest, Msg: "cannot build the request", Err: err}
	}
	req.Header[tokenHeader] = []string{c.token.Reveal()}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{reached: sent.Load()}, c.transportError(ctx, cctx, err)
	}
	defer resp.Body.Close()
	ans := answer{reached: true, status: resp.StatusCode, header: resp.Header}
	ans.body, err = readBody(resp.Body, resp.ContentLength, c.maxBody)
	switch {
	case errors.Is(err, errTooLarge):
		return ans, &Error{Kind: KindMalformed, Status: resp.StatusCode,
			Msg: fmt.Sprintf("the body is larger than %d bytes (WOLKVOX_MAX_BODY_BYTES); ask for shorter windows", c.maxBody)}
	case errors.Is(err, io.ErrUnexpectedEOF) && ctx.Err() == nil && cctx.Err() == nil:
		return ans, &Error{Kind: KindUpstream, Status: resp.StatusCode,
			Msg: fmt.Sprintf("the answer was cut short: the connection closed after %d of the %d bytes announced (wolkvox or a proxy in between stopped sending; retried)", len(ans.body), resp.ContentLength)}
	case err != nil:
		return ans, c.transportError(ctx, cctx, err)
	}
	return ans, nil
}

// transportError judges an error of the request or of reading the body.
func (c *Client) transportError(ctx, cctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		return canceled(ctx.Err())
	}
	if context.Cause(cctx) == errCallTimeout {
		return &Error{Kind: KindUpstream, Msg: fmt.Sprintf("no complete answer within %s (WOLKVOX_TIMEOUT)", c.timeout)}
	}
	// The *url.Error around err repeats the URL that Op already names.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &Error{Kind: KindUpstream, Msg: "no answer from wolkvox (network error; a blocked IP address looks like this too)", Err: err}
}

// judge turns a complete answer into a Report or an *Error.
func judge(ans answer) (Report, *Error) {
	switch {
	case ans.status == http.StatusOK:
		rep, err := Decode(ans.body)
		if err != nil {
			var fe *Error
			errors.As(err, &fe)
			if fe.Kind == KindMalformed {
				fe.Msg += fmt.Sprintf(" (Content-Type %s, the body starts with %s): check WOLKVOX_BASE_URL points at the API and not at a web page",
					quoteShort(ans.header.Get("Content-Type")), quoteShort(sanitize(string(ans.body[:min(len(ans.body), 120)]))))
			}
			return Report{}, fe
		}
		return rep, nil
	case ans.status >= 300 && ans.status < 400:
		return Report{}, &Error{Kind: KindBadRequest, Status: ans.status,
			Msg: fmt.Sprintf("redirect to %s not followed, so that the token does not go there: check WOLKVOX_BASE_URL",
				quoteShort(ans.header.Get("Location")))}
	}
	v := classify(ans.status, whatWolkvoxSaid(ans.body))
	if v.noData {
		return Report{NoData: true}, nil
	}
	return Report{}, &Error{Kind: v.kind, Status: ans.status, Msg: v.msg, retryAfter: parseRetryAfter(ans.header)}
}

// whatWolkvoxSaid returns the error and msg of a wolkvox body, or the body
// itself when it is not one (an HTML error page).
func whatWolkvoxSaid(body []byte) string {
	d := decoder{b: body}
	if env, err := d.envelope(false); err == nil {
		return env.text()
	}
	if len(body) > 4*maxSaid {
		body = body[:4*maxSaid]
	}
	return string(body)
}

// parseRetryAfter reads a Retry-After header given in seconds.
func parseRetryAfter(h http.Header) time.Duration {
	s, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

var errTooLarge = errors.New("body too large")

// readBody reads at most limit bytes, in one allocation when the length is
// announced.
func readBody(r io.Reader, announced, limit int64) ([]byte, error) {
	if announced > limit {
		return nil, errTooLarge
	}
	var buf bytes.Buffer
	if announced > 0 {
		buf.Grow(int(announced) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return buf.Bytes(), err
	}
	if int64(buf.Len()) > limit {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}
