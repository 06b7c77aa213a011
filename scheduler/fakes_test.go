package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/internal/syncbuf"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/health"
	"github.com/skill6pub/skill6pub/metrics"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/state"
)

// windowKey names one window of one skill in the fakes.
type windowKey struct {
	skill string
	start int64 // Unix seconds
}

func keyOf(skill string, start time.Time) windowKey { return windowKey{skill, start.Unix()} }

// fetchCall is one call the scripted fetcher received.
type fetchCall struct {
	skill      string
	start, end time.Time
}

// scriptedFetcher returns deterministic rows for each window of each skill.
// Tests make a window fail, change its data (late data), or hold a call.
type scriptedFetcher struct {
	mu       sync.Mutex
	calls    []fetchCall
	attempts map[windowKey]int
	version  map[windowKey]int // bumped to change a window's data
	// fail, when set, is asked before each call; attempt counts the calls
	// for that window, from 1.
	fail func(c fetchCall, attempt int) error
	// before, when set, runs before each call (outside the lock).
	before func(ctx context.Context, c fetchCall)
	// empty, when set, says which calls answer "no data".
	empty func(c fetchCall, attempt int) bool
	// extra are rows added to a window's answer (a caller late data adds).
	extra map[windowKey][]fetch.Row
}

func newScriptedFetcher() *scriptedFetcher {
	return &scriptedFetcher{attempts: map[windowKey]int{}, version: map[windowKey]int{}}
}

func (f *scriptedFetcher) Fetch(ctx context.Context, skill string, start, end time.Time) (fetch.Report, error) {
	c := fetchCall{skill: skill, start: start, end: end}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	k := keyOf(skill, start)
	f.attempts[k]++
	attempt, version, fail, before, empty, extra := f.attempts[k], f.version[k], f.fail, f.before, f.empty, slices.Clone(f.extra[k])
	f.mu.Unlock()
	if before != nil {
		before(ctx, c)
	}
	if fail != nil {
		if err := fail(c, attempt); err != nil {
			return fetch.Report{}, err
		}
	}
	if empty != nil && empty(c, attempt) {
		return fetch.Report{NoData: true}, nil
	}
	report := reportFor(skill, start, version)
	report.Rows = append(report.Rows, extra...)
	return report, nil
}

// addRow adds row to the answers for one window, as late data does.
func (f *scriptedFetcher) addRow(skill string, start time.Time, row fetch.Row) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.extra == nil {
		f.extra = map[windowKey][]fetch.Row{}
	}
	k := keyOf(skill, start)
	f.extra[k] = append(f.extra[k], row)
}

// bump changes the data of one window, as late data does.
func (f *scriptedFetcher) bump(skill string, start time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version[keyOf(skill, start)]++
}

func (f *scriptedFetcher) callsFor(skill string, start time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[keyOf(skill, start)]
}

func (f *scriptedFetcher) callList() []fetchCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// reportFor makes one to three rows that depend only on the skill, the
// window and the data version, so that some DNIS repeat, change and go.
func reportFor(skill string, start time.Time, version int) fetch.Report {
	slot := start.Unix() / 300
	n := 1 + int(slot%3)
	rows := make([]fetch.Row, n)
	for i := range rows {
		calls := int64(i) + 1 + slot%2 + int64(version)
		rows[i] = fetch.Row{
			DNIS: fmt.Sprintf("57300%s%04d", skill, i),
			Metrics: schema.Metrics{
				InboundCalls: schema.IntOf(calls), AnswerCalls: schema.IntOf(calls), AbandonCalls: schema.IntOf(0),
				ServiceLevel20sPct: schema.FloatOf(100), ASASeconds: schema.FloatOf(float64(5 + version)),
			},
		}
	}
	return fetch.Report{Rows: rows}
}

// publication is one Publish call as the recording publisher saw it.
type publication struct {
	skill         string
	start, end    time.Time
	revision      int
	previousKnown bool
	closedLast    bool   // window_closed is the last event
	closedID      string // window_closed's event id
	ids           map[string]string
	deadLetters   int
	// records is every record of the publication as Kafka would store it,
	// to compare a publication with a later copy byte for byte.
	records string
}

func (p publication) key() windowKey { return keyOf(p.skill, p.start) }

// recordingPublisher keeps every successful publication in order.
type recordingPublisher struct {
	mu       sync.Mutex
	pubs     []publication
	attempts map[windowKey]int
	// fail, when set, is asked before each call; attempt counts the calls
	// for that window, from 1.
	fail func(p publication, attempt int) error
	// before, when set, runs before each call (outside the lock) with the
	// context Publish received.
	before func(ctx context.Context, p publication) error
	// after, when set, runs after a publication is recorded.
	after func(p publication)
}

func newRecordingPublisher() *recordingPublisher {
	return &recordingPublisher{attempts: map[windowKey]int{}}
}

func (r *recordingPublisher) Publish(ctx context.Context, events schema.Events, deadLetters []schema.DeadLetter) error {
	all := events.Slice(0, events.Len())
	p := describe(all)
	p.deadLetters = len(deadLetters)
	p.records = encodeRecords(all, deadLetters)
	r.mu.Lock()
	r.attempts[p.key()]++
	attempt, fail, before, after := r.attempts[p.key()], r.fail, r.before, r.after
	r.mu.Unlock()
	if before != nil {
		if err := before(ctx, p); err != nil {
			return err
		}
	}
	if fail != nil {
		if err := fail(p, attempt); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.pubs = append(r.pubs, p)
	r.mu.Unlock()
	if after != nil {
		after(p)
	}
	return nil
}

func describe(events []schema.Event) publication {
	var p publication
	p.ids = map[string]string{}
	for i, e := range events {
		h := e.Head()
		p.skill, p.start, p.end, p.revision = h.SkillID, h.WindowStart, h.WindowEnd, h.Revision
		switch e := e.(type) {
		case *schema.WindowClosed:
			p.closedLast = i == len(events)-1
			p.closedID = h.EventID
			p.previousKnown = e.PreviousWindowKnown
		case *schema.DNISWindow:
			p.ids[e.DNIS] = h.EventID
		}
	}
	return p
}

// encodeRecords returns the keys and values of the records of a window,
// one per line; an event that does not encode shows its error.
func encodeRecords(events []schema.Event, deadLetters []schema.DeadLetter) string {
	var b bytes.Buffer
	for _, e := range events {
		m, err := schema.Encode(e)
		fmt.Fprintf(&b, "%s %s %v\n", m.Key, m.Value, err)
	}
	for _, d := range deadLetters {
		m, err := schema.EncodeDeadLetter(d)
		fmt.Fprintf(&b, "%s %s %v\n", m.Key, m.Value, err)
	}
	return b.String()
}

func (r *recordingPublisher) list() []publication {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pubs)
}

// of returns the publications of one skill, in order.
func (r *recordingPublisher) of(skill string) []publication {
	var out []publication
	for _, p := range r.list() {
		if p.skill == skill {
			out = append(out, p)
		}
	}
	return out
}

// mapStore keeps states in memory and remembers every save.
type mapStore struct {
	mu       sync.Mutex
	states   map[state.Key]state.State
	saves    []state.State
	failSave func(s state.State) error
}

func newMapStore() *mapStore { return &mapStore{states: map[state.Key]state.State{}} }

func (m *mapStore) Load(key state.Key) (state.State, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[key]
	st.Windows = slices.Clone(st.Windows)
	return st, ok, nil
}

func (m *mapStore) Save(s state.State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failSave != nil {
		if err := m.failSave(s); err != nil {
			return err
		}
	}
	s.Windows = slices.Clone(s.Windows)
	m.states[s.Key] = s
	m.saves = append(m.saves, s)
	return nil
}

func (m *mapStore) get(key state.Key) (state.State, bool) {
	st, ok, _ := m.Load(key)
	return st, ok
}

func (m *mapStore) saveList() []state.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.saves)
}

// commits returns the saves that committed a window: those without a
// pending window (the write-ahead saves before each publish have one) that
// hold windows (a backfill's record of its windows in the live state, at
// its end, holds only spans).
func (m *mapStore) commits() []state.State {
	var out []state.State
	for _, s := range m.saveList() {
		if s.Pending == nil && len(s.Windows) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// logBuffer collects JSON log lines from several goroutines.
type logBuffer struct{ syncbuf.Buffer }

// lines decodes every log line.
func (l *logBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(l.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		out = append(out, m)
	}
	return out
}

// withMessage returns the lines whose message contains part.
func (l *logBuffer) withMessage(t testing.TB, part string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range l.lines(t) {
		if msg, _ := m["message"].(string); bytes.Contains([]byte(msg), []byte(part)) {
			out = append(out, m)
		}
	}
	return out
}

// harness is a Scheduler over the fakes.
type harness struct {
	cfg     Config
	deps    Deps
	s       *Scheduler
	fetcher *scriptedFetcher
	pub     *recordingPublisher
	store   *mapStore
	logs    *logBuffer
	metrics *metrics.Metrics
	clock   clock.Clock
	loc     *time.Location
}

const testOperation = "0032"

func testConfig(skills ...string) Config {
	return Config{SkillIDs: skills, Interval: 5 * time.Minute, SettleDelay: time.Minute, MaxCatchup: 24 * time.Hour}
}

// newHarness builds a Scheduler in America/Bogota (or loc when given).
func newHarness(t testing.TB, cfg Config, clk clock.Clock, edit ...func(*Deps)) *harness {
	t.Helper()
	h := &harness{
		fetcher: newScriptedFetcher(),
		pub:     newRecordingPublisher(),
		store:   newMapStore(),
		logs:    &logBuffer{},
		metrics: metrics.New(prometheus.NewRegistry()),
		clock:   clk,
		loc:     mustLoad(t, "America/Bogota"),
	}
	deps := Deps{
		Fetcher: h.fetcher, Publisher: h.pub, Store: h.store, Clock: clk,
		Logger: zerolog.New(h.logs), Metrics: h.metrics, Location: h.loc,
		Operation: testOperation, Producer: schema.Producer{Name: "skill6pub", Version: "test"},
		ShutdownGrace: time.Minute,
		Health:        health.New(clk, cfg.SkillIDs, cfg.Interval, cfg.SettleDelay),
	}
	for _, e := range edit {
		e(&deps)
	}
	h.loc = deps.Location
	h.cfg, h.deps = cfg, deps
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	return h
}

// restart returns a harness with a new Scheduler over the same fakes, as a
// restarted process finds the same store, upstream and Kafka; edit changes
// its Deps.
func (h *harness) restart(t testing.TB, edit ...func(*Deps)) *harness {
	t.Helper()
	next := *h
	for _, e := range edit {
		e(&next.deps)
	}
	s, err := New(next.cfg, next.deps)
	if err != nil {
		t.Fatal(err)
	}
	next.s = s
	return &next
}

func liveKey(skill string) state.Key { return state.Key{Operation: testOperation, SkillID: skill} }

// run starts Run and returns a function that cancels it and returns its
// error.
func (h *harness) run(t testing.TB) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.s.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// runUntilIdle runs until the scheduler waits on fake for the next window,
// then stops it.
func (h *harness) runUntilIdle(t testing.TB, fake *clock.Fake) {
	t.Helper()
	stop := h.run(t)
	if err := fake.WaitForSleepers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// runUntil runs until enough says so, asked after each publication with
// it and the number of publications so far (one call at a time).
func (h *harness) runUntil(t testing.TB, enough func(p publication, n int) bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	n := 0
	h.pub.after = func(p publication) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if enough(p, n) {
			cancel()
		}
	}
	return h.s.Run(ctx)
}

// permanentError is an error that says retrying will not help.
type permanentError struct{}

func (permanentError) Error() string   { return "refused for good" }
func (permanentError) Retriable() bool { return false }

// assertContiguous checks that pubs are consecutive windows of cal, in
// order, each once, starting at first.
func assertContiguous(t testing.TB, cal Calendar, pubs []publication, first Window) {
	t.Helper()
	w := first
	for i, p := range pubs {
		if !p.start.Equal(w.Start) || !p.end.Equal(w.End) {
			t.Fatalf("publication %d of skill %s is window %s-%s, want %s", i, p.skill, p.start, p.end, w)
		}
		if !p.closedLast {
			t.Fatalf("publication %d: window_closed is not the last event", i)
		}
		w = cal.Next(w)
	}
}
