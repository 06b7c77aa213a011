package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/consume"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/schema/schematest"
)

// hostile is an answer for one window and the rows of it that must end as
// dead letters (compact JSON).
type hostile struct {
	name    string
	answer  Answer
	badRows []string
}

// rowsAnswer answers with rows; the rows whose DNIS starts with "bad-" are
// the bad ones.
func rowsAnswer(name string, rows ...string) hostile {
	h := hostile{name: name, answer: Rows(rows...)}
	for _, r := range rows {
		if strings.Contains(r, `"bad-`) {
			h.badRows = append(h.badRows, r)
		}
	}
	return h
}

// bodyAnswer answers with a whole body; its bad rows are what the decoder
// rejects, if it takes the body at all.
func bodyAnswer(name string, body []byte) hostile {
	h := hostile{name: name, answer: Body(200, body)}
	if rep, err := fetch.Decode(body); err == nil {
		for _, r := range rep.Rejected {
			h.badRows = append(h.badRows, compact(r.Raw))
		}
	}
	return h
}

// compact is a row as its dead letter carries it: compact JSON, bytes that
// are not UTF-8 replaced (JSON cannot hold them).
func compact(raw []byte) string {
	raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw) // not JSON: the dead letter keeps it as a string
	}
	return b.String()
}

// fuzzCorpus reads the bodies of fetch's fuzz corpus.
func fuzzCorpus(t *testing.T) map[string][]byte {
	dir := filepath.Join("..", "fetch", "testdata", "fuzz", "FuzzDecode")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if lit, ok := strings.CutPrefix(line, "[]byte("); ok {
				body, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
				if err != nil {
					t.Fatalf("%s: %v", e.Name(), err)
				}
				out[e.Name()] = []byte(body)
			}
		}
		f.Close()
	}
	if len(out) == 0 {
		t.Fatal("no fuzz corpus")
	}
	return out
}

// TestHostileUpstreamBodies answers windows with hostile bodies: huge
// numbers, negative counts, NaN, a 10,000-character DNIS, invalid UTF-8,
// deeply nested JSON, a 1 GiB body and the decoder's fuzz corpus. The
// service must not crash, must publish every window (the hostile answer
// or, once it is refused, the next one), and nothing hostile may reach the
// topic as a valid event: every record validates against the JSON Schema,
// no metric is out of range, and every dead letter is a row that really was
// bad.
func TestHostileUpstreamBodies(t *testing.T) {
	t.Parallel()
	loc := bogota(t)
	fake := clock.NewAutoFake(scenarioStart(loc))
	w := newWorld(t, 1, wolkvoxsim.Config{Seed: 5, CallersPerWindow: 6, Population: 30, Clock: fake}, "12")

	const good = `{"dnis":"3005550000","inbound_calls":"2","answer_calls":"2","abandon_calls":"0","asa":"00:00:07"}`
	var streamed atomic.Int64
	nested := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	hostiles := []hostile{
		rowsAnswer("huge numbers", good,
			`{"dnis":"bad-count","inbound_calls":"9223372036854775808"}`,
			`{"dnis":"bad-count-1e9","inbound_calls":"1000000001"}`,
			`{"dnis":"bad-percent","service_level_20seg":"1`+strings.Repeat("0", 38)+` %"}`,
			`{"dnis":"bad-seconds","asa":"999999999:59:59"}`,
			`{"dnis":"bad-exp","ata":1e400}`),
		rowsAnswer("negative counts", good, `{"dnis":"bad-neg","abandon_calls":"-1"}`, `{"dnis":"bad-neg-number","inbound_calls":-7}`),
		rowsAnswer("NaN and infinities", good, `{"dnis":"bad-nan","asa":"NaN"}`, `{"dnis":"bad-inf","abandon":"Infinity %"}`),
		rowsAnswer("10,000-character DNIS", good, `{"dnis":"bad-`+strings.Repeat("7", 9996)+`","inbound_calls":"1"}`),
		rowsAnswer("invalid UTF-8", good, "{\"dnis\":\"bad-\xff\xfe\",\"inbound_calls\":\"1\"}", "{\"dnis\":\"bad-x\",\"inbound_calls\":\"1\xc0\"}"),
		bodyAnswer("NaN as a bare token", []byte(`{"code":200,"error":null,"msg":"1 records were found","data":[{"dnis":"3001","asa":NaN}]}`)),
		bodyAnswer("nested 100,000 deep", []byte(`{"code":200,"error":null,"msg":"1 records were found","data":`+nested(100000)+`}`)),
		bodyAnswer("nested 5,000 deep under an unknown key", []byte(`{"code":200,"error":null,"msg":"1 records were found","data":[{"dnis":"3002","inbound_calls":"1","x":`+nested(5000)+`}]}`)),
		bodyAnswer("invalid UTF-8 around the rows", []byte("{\"code\":200,\"error\":\"\xff\",\"msg\":\"1 records were found\xfe\",\"data\":["+good+"]}")),
		{name: "1 GiB body", answer: Stream(1<<30, func(n int64) { streamed.Store(n) })},
	}
	corpus := fuzzCorpus(t)
	for _, name := range sortedNames(corpus) {
		hostiles = append(hostiles, bodyAnswer("fuzz corpus "+name, corpus[name]))
	}

	cal := w.calendar()
	first := cal.LatestComplete(fake.Now())
	badRows := map[time.Time]map[string]bool{} // window start -> bad rows it may dead-letter
	win := first
	for _, h := range hostiles {
		win = cal.Next(win)
		w.upstream.AnswerWindow("12", win.Start, h.answer)
		badRows[win.Start.UTC()] = map[string]bool{}
		for _, r := range h.badRows {
			badRows[win.Start.UTC()][compact([]byte(r))] = true
		}
	}
	last := cal.Next(win)

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	s := w.setup(fake)
	var mu sync.Mutex
	s.Committed = func(_ string, start time.Time) {
		if !start.Before(last.Start) {
			stop()
		}
	}
	if _, err := w.run(runCtx, s); err != nil {
		t.Fatal(err)
	}
	if served := w.upstream.HostileServed(); served != len(hostiles) {
		t.Fatalf("%d hostile answers served, want %d", served, len(hostiles))
	}
	if n := streamed.Load(); n == 0 || n > 256<<20 {
		t.Errorf("the 1 GiB answer sent %d bytes before the service stopped reading: want it cut near WOLKVOX_MAX_BODY_BYTES (%d)", n, w.cfg.Wolkvox.MaxBodyBytes)
	}

	events, deadLetters := schematest.Compile(t, schema.JSONSchemaDocument()), schematest.Compile(t, schema.DeadLetterJSONSchemaDocument())
	var invalid []string
	c := w.checker(t, func(r consume.Record) {
		mu.Lock()
		defer mu.Unlock()
		sch := events
		if r.DeadLetter != nil {
			sch = deadLetters
		}
		if !utf8.Valid(r.Value) {
			invalid = append(invalid, "not UTF-8: "+string(r.Value))
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Value))
		if err == nil {
			err = sch.Validate(inst)
		}
		if err != nil {
			invalid = append(invalid, err.Error()+": "+string(r.Value[:min(len(r.Value), 300)]))
		}
		if ev, ok := r.Event.(*schema.DNISWindow); ok {
			if strings.HasPrefix(ev.DNIS, "bad-") || !plausible(ev.Metrics) {
				invalid = append(invalid, "a hostile row became an event: "+string(r.Value[:min(len(r.Value), 300)]))
			}
		}
	})
	problems := c.Check(Expect{Skills: []string{"12"}, Calendar: cal, First: first.Start, Last: last.Start,
		BadRow: func(d *schema.DeadLetter) bool { return badRows[d.WindowStart.UTC()][compact(d.Raw)] }})
	if len(problems) > 0 {
		t.Errorf("broken promises:\n%s", strings.Join(problems, "\n"))
	}
	if len(invalid) > 0 {
		t.Errorf("%d records on the topics are not valid:\n%s", len(invalid), strings.Join(invalid, "\n"))
	}
	wantDead := 0
	for _, rows := range badRows {
		wantDead += len(rows)
	}
	if got := c.Tallies().RowDeadLetters; got < 11 || got > wantDead {
		t.Errorf("%d row dead letters, want the hostile rows (%d possible)", got, wantDead)
	}
	w.assertNoSecrets(t)
	t.Logf("%d hostile answers, the 1 GiB one cut after %d bytes; %s", len(hostiles), streamed.Load(), strings.ReplaceAll(c.Tallies().String(), "\n", "; "))
}

// plausible reports whether metrics are within what the service promises:
// counts and values from 0 to 1e9, finite.
func plausible(m schema.Metrics) bool {
	for _, v := range []schema.NullInt{m.InboundCalls, m.AnswerCalls, m.AbandonCalls} {
		if v.Valid && (v.Int < 0 || v.Int > 1e9) {
			return false
		}
	}
	for _, v := range []schema.NullFloat{m.ServiceLevel10sPct, m.ServiceLevel20sPct, m.ServiceLevel30sPct, m.AbandonPct, m.ASASeconds, m.ATASeconds} {
		if v.Valid && (math.IsNaN(v.Float) || v.Float < 0 || v.Float > 1e9) {
			return false
		}
	}
	return true
}

func sortedNames(m map[string][]byte) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
