package reliability

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

// Token is the wolkvox token of the fault runs; the secrets check looks for
// it everywhere the service writes.
const Token = "wolkvox-secret-7f3Kq9"

// dateLayout is wolkvox's date_ini/date_end format.
const dateLayout = "20060102150405"

// Answer writes one hostile answer.
type Answer func(w http.ResponseWriter)

// Upstream is the wolkvox side of a fault run: the simulator behind a real
// HTTP server, plus answers chosen by the test for chosen windows (hostile
// bodies) and bad rows spliced into the simulator's answers (SpoilRows).
// The simulator's own knobs (Sim.Update, Sim.Inject) give latency, HTTP
// errors, malformed bodies, 403s, hangs and late data.
type Upstream struct {
	Sim *wolkvoxsim.Server
	URL string // WOLKVOX_BASE_URL
	loc *time.Location

	mu      sync.Mutex
	answers map[string][]Answer // "skill date_ini" -> answers to give before the simulator's
	spoil   func(skill string, start time.Time) []string
	served  int // hostile answers given
}

// NewUpstream serves a simulator built from cfg (Token set) until the test
// ends.
func NewUpstream(t testing.TB, cfg wolkvoxsim.Config) *Upstream {
	t.Helper()
	cfg.Token = Token
	u := &Upstream{Sim: wolkvoxsim.New(cfg), answers: map[string][]Answer{}}
	u.loc = u.Sim.Config().Location
	srv := httptest.NewServer(u)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	u.URL = wolkvoxsim.URL(srv.URL)
	return u
}

// AnswerWindow makes the next requests for the window of skill starting at
// start get the given answers, one each, before the simulator answers
// again.
func (u *Upstream) AnswerWindow(skill string, start time.Time, answers ...Answer) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := skill + " " + start.In(u.loc).Format(dateLayout)
	u.answers[k] = append(u.answers[k], answers...)
}

// SpoilRows splices the rows spoil returns (JSON objects) into every answer
// of the simulator that has rows, after them.
func (u *Upstream) SpoilRows(spoil func(skill string, start time.Time) []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.spoil = spoil
}

// HostileServed returns how many answers AnswerWindow gave.
func (u *Upstream) HostileServed() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.served
}

func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	skill, dateIni := q.Get("skill_id"), q.Get("date_ini")
	u.mu.Lock()
	k := skill + " " + dateIni
	var answer Answer
	if queue := u.answers[k]; len(queue) > 0 && r.Header.Get("wolkvox-token") == Token {
		answer, u.answers[k] = queue[0], queue[1:]
		u.served++
	}
	spoil := u.spoil
	u.mu.Unlock()
	if answer != nil {
		answer(w)
		return
	}
	if spoil == nil {
		u.Sim.ServeHTTP(w, r)
		return
	}
	start, err := time.ParseInLocation(dateLayout, dateIni, u.loc)
	bad := spoil(skill, start)
	if err != nil || len(bad) == 0 {
		u.Sim.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	u.Sim.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK && bytes.HasSuffix(body, []byte("}]}")) {
		body = append(body[:len(body)-2:len(body)-2], ","+strings.Join(bad, ",")+"]}"...)
	}
	for name, values := range rec.Header() {
		if name != "Content-Length" {
			w.Header()[name] = values
		}
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// Body answers with status and body as JSON.
func Body(status int, body []byte) Answer {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// Rows answers 200 with the given rows (JSON objects) as wolkvox would.
func Rows(rows ...string) Answer {
	return Body(http.StatusOK, []byte(fmt.Sprintf(`{"code":200,"error":null,"msg":"%d records were found","data":[%s]}`,
		len(rows), strings.Join(rows, ","))))
}

// Stream answers 200 with a valid-looking body of size bytes, written in
// chunks without a Content-Length and never held in memory; sent receives
// how many bytes went out before the client stopped reading.
func Stream(size int64, sent func(int64)) Answer {
	return func(w http.ResponseWriter) {
		const head = `{"code":200,"error":null,"msg":"1 records were found","data":[{"dnis":"`
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte("5"), 64<<10)
		n, err := w.Write([]byte(head))
		total := int64(n)
		for err == nil && total < size {
			n, err = w.Write(chunk[:min(int64(len(chunk)), size-total)])
			total += int64(n)
		}
		sent(total)
	}
}
