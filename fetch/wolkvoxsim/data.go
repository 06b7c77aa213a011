package wolkvoxsim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
)

// The shape of the traffic. Calls are generated per slot of five minutes
// (aligned to the Unix epoch, hence to every time zone's five minutes), so a
// window's data is the same whether it is asked for alone or inside a
// longer range.
const (
	slotSeconds = 300
	// repeatShare is the share of callers drawn from the Zipf-like
	// population of regular callers; the others call once and are not seen
	// again.
	repeatShare = 0.3
	// zipfS is the Zipf exponent of the regular callers: a few call very
	// often, most rarely.
	zipfS = 1.1
	// againShare is the chance that a caller calls once more in the same
	// slot.
	againShare = 0.15
	maxWait    = 3599 // seconds
	// dnisSpace is the range of the nine digits after a DNIS's first digit.
	dnisSpace = 1_000_000_000
)

// Rows returns the rows the simulator serves for skill (a skill id or "all",
// which covers cfg.AllSkills) over the window [start, end), as seen at asOf:
// a call shows once it has happened and, with cfg.LateData, once its
// reporting delay has passed. It is a pure function of cfg's Seed,
// CallersPerWindow, Population, LateData and AllSkills (zero values take the
// defaults of Config) and of its arguments, so tests compute what a fetch of
// the simulator must return. Rows come in the order the simulator sends them.
func Rows(cfg Config, skill string, start, end, asOf time.Time) []fetch.Row {
	cfg = cfg.withDefaults()
	skills := []string{skill}
	if skill == "all" {
		skills = cfg.AllSkills
	}
	// Sized for every caller of the window up front: growing a map of
	// 100,000 callers step by step costs more than generating them.
	expected := int(min(cfg.CallersPerWindow*float64(len(skills))*(end.Sub(start).Minutes()/5+1), 1<<22))
	g := generator{
		cfg:     cfg,
		start:   start.Unix(),
		end:     end.Unix(),
		asOf:    asOf.Unix(),
		index:   make(map[uint64]int32, max(expected, 0)),
		callers: make([]caller, 0, max(expected, 0)),
	}
	for _, s := range skills {
		g.skill(s)
	}
	rows := make([]fetch.Row, len(g.callers))
	for i := range g.callers {
		rows[i] = g.callers[i].row()
	}
	return rows
}

// caller is what one DNIS did in the window.
type caller struct {
	dnis                              uint64
	inbound, answered, abandoned      int64
	within10, within20, within30      int64
	answeredWaitSum, abandonedWaitSum int64
}

func (c *caller) row() fetch.Row {
	r := fetch.Row{DNIS: formatDNIS(c.dnis)}
	m := &r.Metrics
	m.InboundCalls = schema.IntOf(c.inbound)
	m.AnswerCalls = schema.IntOf(c.answered)
	m.AbandonCalls = schema.IntOf(c.abandoned)
	m.ServiceLevel10sPct = schema.FloatOf(percent(c.within10, c.inbound))
	m.ServiceLevel20sPct = schema.FloatOf(percent(c.within20, c.inbound))
	m.ServiceLevel30sPct = schema.FloatOf(percent(c.within30, c.inbound))
	m.AbandonPct = schema.FloatOf(percent(c.abandoned, c.inbound))
	if c.answered > 0 {
		m.ASASeconds = schema.FloatOf(math.Round(float64(c.answeredWaitSum) / float64(c.answered)))
	}
	if c.abandoned > 0 {
		m.ATASeconds = schema.FloatOf(math.Round(float64(c.abandonedWaitSum) / float64(c.abandoned)))
	}
	return r
}

// percent is 100*part/whole rounded to two decimals, as wolkvox shows it.
// The result is the float64 nearest to the two-decimal figure, so it
// survives formatting and parsing unchanged.
func percent(part, whole int64) float64 {
	return math.Round(float64(part)*10000/float64(whole)) / 100
}

// formatDNIS writes the number as ten digits: regular callers start with 3
// (mobile numbers), one-off callers with 6 (landlines).
func formatDNIS(n uint64) string {
	var b [20]byte
	i := len(b)
	for d := 0; d < 10 || n > 0; d++ {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

type generator struct {
	cfg              Config
	start, end, asOf int64 // unix seconds
	index            map[uint64]int32
	callers          []caller
	seen             map[uint64]struct{} // regular callers of the current slot
}

// skill adds the calls of one skill in the window.
func (g *generator) skill(skill string) {
	if g.end <= g.start {
		return
	}
	first := floorDiv(g.start, slotSeconds)
	last := floorDiv(g.end-1, slotSeconds)
	h := hashString(skill)
	for slot := first; slot <= last; slot++ {
		g.slot(h, slot)
	}
}

// slot generates every call of one skill in one five-minute slot, then keeps
// those inside the window and visible at asOf. The random draws never depend
// on the window, which keeps the data the same for every window.
func (g *generator) slot(skillHash uint64, slot int64) {
	seed := uint64(g.cfg.Seed)
	r := rand.New(rand.NewPCG(mix(seed^skillHash), mix(uint64(slot)^0x5bd1e995)))
	// How congested the skill is in this slot: waits and abandons grow
	// with it.
	load := 0.15 + 0.7*r.Float64()
	abandonChance := 0.03 + 0.25*load
	meanAnswerWait := 3 + 40*load
	meanAbandonWait := 20 + 50*load
	late := float64(g.cfg.LateData / time.Second)

	n := poisson(r, g.cfg.CallersPerWindow)
	if g.seen == nil {
		g.seen = make(map[uint64]struct{})
	}
	clear(g.seen)
	regulars := rand.NewZipf(r, zipfS, 1, uint64(g.cfg.Population-1))
	slotStart := slot * slotSeconds
	offset := mix(seed) % dnisSpace
	for range n {
		// Regular callers keep their number across slots and skills; a
		// regular already seen in this slot is replaced by a one-off
		// caller so that a window has about CallersPerWindow rows.
		var dnis uint64
		regular := r.Float64() < repeatShare
		if regular {
			rank := regulars.Uint64()
			if _, dup := g.seen[rank]; dup {
				regular = false
			} else {
				g.seen[rank] = struct{}{}
				dnis = 3*dnisSpace + (rank*387420489+offset)%dnisSpace // a bijection of rank
			}
		}
		if !regular {
			dnis = 6*dnisSpace + r.Uint64()%dnisSpace
		}
		calls := 1
		for calls < 20 && r.Float64() < againShare {
			calls++
		}
		for range calls {
			at := slotStart + r.Int64N(slotSeconds)
			abandoned := r.Float64() < abandonChance
			var wait int64
			if abandoned {
				wait = 1 + int64(r.ExpFloat64()*meanAbandonWait)
			} else {
				wait = int64(r.ExpFloat64() * meanAnswerWait)
			}
			wait = min(wait, maxWait)
			// Drawn even without late data, so that the knob changes when
			// calls show, never which calls there are.
			visible := at + int64(r.ExpFloat64()*late)
			if at < g.start || at >= g.end || visible > g.asOf {
				continue
			}
			g.add(dnis, abandoned, wait)
		}
	}
}

func (g *generator) add(dnis uint64, abandoned bool, wait int64) {
	i, ok := g.index[dnis]
	if !ok {
		i = int32(len(g.callers))
		g.index[dnis] = i
		g.callers = append(g.callers, caller{dnis: dnis})
	}
	c := &g.callers[i]
	c.inbound++
	if abandoned {
		c.abandoned++
		c.abandonedWaitSum += wait
		return
	}
	c.answered++
	c.answeredWaitSum += wait
	if wait <= 10 {
		c.within10++
	}
	if wait <= 20 {
		c.within20++
	}
	if wait <= 30 {
		c.within30++
	}
}

// poisson draws a Poisson count: Knuth's method for small means, the normal
// approximation for large ones.
func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean < 30 {
		limit := math.Exp(-mean)
		k, p := 0, r.Float64()
		for p > limit {
			k++
			p *= r.Float64()
		}
		return k
	}
	return max(0, int(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
}

// mix is splitmix64's finalizer: it spreads nearby inputs (slot numbers)
// over the whole seed space.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hashString is FNV-1a.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
