package snapshot

import (
	"math"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
)

// aggregate accumulates rows into call-weighted figures: the totals of a
// window, or the merge of rows with the same DNIS.
//
// Service levels and abandon_pct are weighted by inbound calls (the calls
// they are a percentage of), ASA by answered calls (the calls that waited
// to be answered) and ATA by abandoned calls. A row without the value, or
// without calls to weigh it, adds nothing to that figure; a figure nothing
// was added to is null ("no calls, no service level"), never 0.
type aggregate struct {
	inbound, answer, abandon     intSum
	sl10, sl20, sl30, abandonPct weightedMean
	asa, ata                     weightedMean
}

func (a *aggregate) add(m schema.Metrics) {
	a.inbound.add(m.InboundCalls)
	a.answer.add(m.AnswerCalls)
	a.abandon.add(m.AbandonCalls)
	a.sl10.add(m.ServiceLevel10sPct, m.InboundCalls)
	a.sl20.add(m.ServiceLevel20sPct, m.InboundCalls)
	a.sl30.add(m.ServiceLevel30sPct, m.InboundCalls)
	a.abandonPct.add(m.AbandonPct, m.InboundCalls)
	a.asa.add(m.ASASeconds, m.AnswerCalls)
	a.ata.add(m.ATASeconds, m.AbandonCalls)
}

// metrics returns the merged row: counts are null only when no row had one.
func (a *aggregate) metrics() schema.Metrics {
	return schema.Metrics{
		InboundCalls:       a.inbound.value(),
		AnswerCalls:        a.answer.value(),
		AbandonCalls:       a.abandon.value(),
		ServiceLevel10sPct: a.sl10.value(),
		ServiceLevel20sPct: a.sl20.value(),
		ServiceLevel30sPct: a.sl30.value(),
		AbandonPct:         a.abandonPct.value(),
		ASASeconds:         a.asa.value(),
		ATASeconds:         a.ata.value(),
	}
}

func totals(rows []fetch.Row) schema.Totals {
	var a aggregate
	for i := range rows {
		a.add(rows[i].Metrics)
	}
	m := a.metrics()
	return schema.Totals{
		InboundCalls:       m.InboundCalls.Int,
		AnswerCalls:        m.AnswerCalls.Int,
		AbandonCalls:       m.AbandonCalls.Int,
		ServiceLevel10sPct: round2(m.ServiceLevel10sPct),
		ServiceLevel20sPct: round2(m.ServiceLevel20sPct),
		ServiceLevel30sPct: round2(m.ServiceLevel30sPct),
		AbandonPct:         round2(m.AbandonPct),
		ASASeconds:         round2(m.ASASeconds),
		ATASeconds:         round2(m.ATASeconds),
	}
}

// round2 rounds a window's total to two decimals, as wolkvox writes its
// own figures: 24.9975 % of abandoned calls is 25 %, no more precise than
// the rows it is weighted from.
func round2(v schema.NullFloat) schema.NullFloat {
	if !v.Valid {
		return v
	}
	return schema.FloatOf(math.Round(v.Float*100) / 100)
}

type intSum struct {
	sum   int64
	valid bool
}

func (s *intSum) add(v schema.NullInt) {
	if v.Valid {
		s.sum += v.Int
		s.valid = true
	}
}

func (s intSum) value() schema.NullInt { return schema.NullInt{Int: s.sum, Valid: s.valid} }

type weightedMean struct {
	weighted, weight float64
}

func (w *weightedMean) add(v schema.NullFloat, weight schema.NullInt) {
	if v.Valid && weight.Valid && weight.Int > 0 {
		w.weighted += v.Float * float64(weight.Int)
		w.weight += float64(weight.Int)
	}
}

func (w weightedMean) value() schema.NullFloat {
	if w.weight == 0 {
		return schema.NullFloat{}
	}
	return schema.FloatOf(round6(w.weighted / w.weight))
}

// delta returns cur minus prev, metric by metric; null where either is.
func delta(cur, prev schema.Metrics) schema.Metrics {
	return schema.Metrics{
		InboundCalls:       minusInt(cur.InboundCalls, prev.InboundCalls),
		AnswerCalls:        minusInt(cur.AnswerCalls, prev.AnswerCalls),
		AbandonCalls:       minusInt(cur.AbandonCalls, prev.AbandonCalls),
		ServiceLevel10sPct: minusFloat(cur.ServiceLevel10sPct, prev.ServiceLevel10sPct),
		ServiceLevel20sPct: minusFloat(cur.ServiceLevel20sPct, prev.ServiceLevel20sPct),
		ServiceLevel30sPct: minusFloat(cur.ServiceLevel30sPct, prev.ServiceLevel30sPct),
		AbandonPct:         minusFloat(cur.AbandonPct, prev.AbandonPct),
		ASASeconds:         minusFloat(cur.ASASeconds, prev.ASASeconds),
		ATASeconds:         minusFloat(cur.ATASeconds, prev.ATASeconds),
	}
}

func minusInt(a, b schema.NullInt) schema.NullInt {
	if !a.Valid || !b.Valid {
		return schema.NullInt{}
	}
	return schema.IntOf(a.Int - b.Int)
}

func minusFloat(a, b schema.NullFloat) schema.NullFloat {
	if !a.Valid || !b.Valid {
		return schema.NullFloat{}
	}
	return schema.FloatOf(round6(a.Float - b.Float))
}

// round6 rounds to six decimals: wolkvox sends two, and binary floating
// point would otherwise publish 28.81 - 28.8 as 0.00999999999999801.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }
