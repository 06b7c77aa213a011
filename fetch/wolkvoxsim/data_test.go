package wolkvoxsim_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

var bogota = mustZone("America/Bogota")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// day is the day most tests look at; later is a time after all of it.
var (
	day   = time.Date(2025, 6, 1, 0, 0, 0, 0, bogota)
	later = day.AddDate(0, 0, 40)
)

// checkRow checks the invariants of one simulated row.
func checkRow(t *testing.T, where string, r fetch.Row) {
	t.Helper()
	m := r.Metrics
	in, ans, ab := m.InboundCalls.Int, m.AnswerCalls.Int, m.AbandonCalls.Int
	fail := func(what string) { t.Errorf("%s: dnis %s: %s: %+v", where, r.DNIS, what, m) }
	if len(r.DNIS) != 10 || strings.Trim(r.DNIS, "0123456789") != "" {
		fail("dnis is not ten digits")
	}
	if !m.InboundCalls.Valid || !m.AnswerCalls.Valid || !m.AbandonCalls.Valid || in < 1 || ans < 0 || ab < 0 {
		fail("counts missing or out of range")
	}
	if ans+ab != in {
		fail("answered + abandoned != inbound")
	}
	sl10, sl20, sl30 := m.ServiceLevel10sPct.Float, m.ServiceLevel20sPct.Float, m.ServiceLevel30sPct.Float
	if !(0 <= sl10 && sl10 <= sl20 && sl20 <= sl30 && sl30 <= 100) {
		fail("service levels out of order")
	}
	if sl30 > math.Round(float64(ans)*10000/float64(in))/100 {
		fail("more calls answered within 30 s than answered")
	}
	if want := math.Round(float64(ab)*10000/float64(in)) / 100; m.AbandonPct.Float != want {
		fail("abandon % inconsistent with the counts")
	}
	if m.ASASeconds.Valid != (ans > 0) || m.ATASeconds.Valid != (ab > 0) {
		fail("asa/ata present without calls or missing with calls")
	}
	if m.ASASeconds.Float < 0 || m.ASASeconds.Float > 3599 || (ab > 0 && (m.ATASeconds.Float < 1 || m.ATASeconds.Float > 3599)) {
		fail("implausible asa/ata")
	}
}

func TestRowsInvariantsOverSeedsAndWindows(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lengths := []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour}
	rows := 0
	for seed := int64(1); seed <= 25; seed++ {
		cfg := wolkvoxsim.Config{Seed: seed, CallersPerWindow: float64(1 + r.IntN(80)), Population: 1 + r.IntN(5000)}
		for range 8 {
			start := day.Add(time.Duration(r.IntN(7*288)) * 5 * time.Minute)
			end := start.Add(lengths[r.IntN(len(lengths))])
			for _, skill := range []string{"1", "42", "all"} {
				got := wolkvoxsim.Rows(cfg, skill, start, end, later)
				seen := map[string]bool{}
				for _, row := range got {
					checkRow(t, skill+" "+start.Format(time.RFC3339), row)
					if seen[row.DNIS] {
						t.Errorf("dnis %s twice in one window", row.DNIS)
					}
					seen[row.DNIS] = true
				}
				rows += len(got)
			}
		}
	}
	if rows < 10000 {
		t.Errorf("only %d rows checked", rows)
	}
}

// counts sums inbound calls per DNIS.
func counts(rows ...[]fetch.Row) map[string][3]int64 {
	sum := map[string][3]int64{}
	for _, rs := range rows {
		for _, r := range rs {
			c := sum[r.DNIS]
			c[0] += r.Metrics.InboundCalls.Int
			c[1] += r.Metrics.AnswerCalls.Int
			c[2] += r.Metrics.AbandonCalls.Int
			sum[r.DNIS] = c
		}
	}
	return sum
}

func equalCounts(a, b map[string][3]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRowsArePureAndAddUp(t *testing.T) {
	cfg := wolkvoxsim.Config{Seed: 7, CallersPerWindow: 60}
	start := day.Add(10 * time.Hour)
	mid, end := start.Add(5*time.Minute), start.Add(10*time.Minute)

	a := wolkvoxsim.Rows(cfg, "1", start, end, later)
	b := wolkvoxsim.Rows(cfg, "1", start, end, later)
	if len(a) == 0 || !equalCounts(counts(a), counts(b)) {
		t.Fatalf("two calls differ or are empty: %d and %d rows", len(a), len(b))
	}
	// A window's data is the same asked alone or inside a longer range.
	if !equalCounts(counts(a), counts(wolkvoxsim.Rows(cfg, "1", start, mid, later), wolkvoxsim.Rows(cfg, "1", mid, end, later))) {
		t.Error("[start, end) differs from [start, mid) + [mid, end)")
	}
	// Windows cut at any second add up too.
	odd := start.Add(97 * time.Second)
	if !equalCounts(counts(a), counts(wolkvoxsim.Rows(cfg, "1", start, odd, later), wolkvoxsim.Rows(cfg, "1", odd, end, later))) {
		t.Error("a window cut at an odd second does not add up")
	}
	// skill_id=all is the sum of the skills.
	var each [][]fetch.Row
	for _, s := range []string{"1", "2", "3"} {
		each = append(each, wolkvoxsim.Rows(cfg, s, start, end, later))
	}
	if !equalCounts(counts(wolkvoxsim.Rows(cfg, "all", start, end, later)), counts(each...)) {
		t.Error("skill all is not the sum of skills 1, 2 and 3")
	}
	// Another seed or skill is another data set.
	if equalCounts(counts(a), counts(wolkvoxsim.Rows(wolkvoxsim.Config{Seed: 8, CallersPerWindow: 60}, "1", start, end, later))) {
		t.Error("seed does not change the data")
	}
	if equalCounts(counts(a), counts(each[1])) {
		t.Error("skill does not change the data")
	}
}

func TestRowsCallersPerWindowAndRepeatCallers(t *testing.T) {
	cfg := wolkvoxsim.Config{Seed: 3, CallersPerWindow: 50, Population: 300}
	windows := 0
	rows := 0
	inWindows := map[string]int{}
	for start := day.Add(9 * time.Hour); start.Before(day.Add(13 * time.Hour)); start = start.Add(5 * time.Minute) {
		got := wolkvoxsim.Rows(cfg, "5", start, start.Add(5*time.Minute), later)
		windows++
		rows += len(got)
		for _, r := range got {
			inWindows[r.DNIS]++
		}
	}
	if mean := float64(rows) / float64(windows); math.Abs(mean-50) > 5 {
		t.Errorf("mean rows per window %.1f, want about 50", mean)
	}
	repeat := 0
	for dnis, n := range inWindows {
		if n > 1 {
			repeat++
			if dnis[0] != '3' {
				t.Errorf("one-off caller %s came back %d times", dnis, n)
			}
		}
	}
	if repeat < 20 {
		t.Errorf("only %d callers came back in another window", repeat)
	}

	big := wolkvoxsim.Rows(wolkvoxsim.Config{Seed: 3, CallersPerWindow: 100000, Population: 1000000}, "1", day, day.Add(5*time.Minute), later)
	if n := len(big); n < 98000 || n > 102000 {
		t.Errorf("CallersPerWindow 100000 gave %d rows", n)
	}
}

func TestRowsLateDataAndFuture(t *testing.T) {
	start := day.Add(15 * time.Hour)
	end := start.Add(5 * time.Minute)
	total := func(rows []fetch.Row) (n int64) {
		for _, r := range rows {
			n += r.Metrics.InboundCalls.Int
		}
		return n
	}
	onTime := wolkvoxsim.Config{Seed: 5, CallersPerWindow: 200}
	if a, b := total(wolkvoxsim.Rows(onTime, "1", start, end, end)), total(wolkvoxsim.Rows(onTime, "1", start, end, later)); a != b || a == 0 {
		t.Errorf("without late data: %d calls at the end of the window, %d later", a, b)
	}
	late := onTime
	late.LateData = 2 * time.Minute
	atEnd := total(wolkvoxsim.Rows(late, "1", start, end, end))
	soon := total(wolkvoxsim.Rows(late, "1", start, end, end.Add(2*time.Minute)))
	final := total(wolkvoxsim.Rows(late, "1", start, end, later))
	if !(atEnd < soon && soon < final) || final != total(wolkvoxsim.Rows(onTime, "1", start, end, later)) {
		t.Errorf("late data: %d calls at the end, %d two minutes later, %d in the end; want growing to the on-time total", atEnd, soon, final)
	}
	if n := len(wolkvoxsim.Rows(onTime, "1", start, end, start.Add(-time.Second))); n != 0 {
		t.Errorf("a window that has not begun has %d rows", n)
	}
	if mid := total(wolkvoxsim.Rows(onTime, "1", start, end, start.Add(150*time.Second))); mid == 0 || mid >= final {
		t.Errorf("half-way through the window: %d calls of %d", mid, final)
	}
}
