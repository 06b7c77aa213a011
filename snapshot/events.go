package snapshot

import (
	"fmt"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/schema"
)

// Events is a window's events in publishing order (see Output), built a
// range at a time. It holds what the events are made from (the rows, the
// rows they were compared with, their ids and a few bytes of plan per
// event) rather than the events: built, the events of a large window take
// several times that memory (BENCHMARKS.md, snapshot), and a publisher
// needs only the chunk in flight.
//
// It implements schema.Events. Its methods only read it: it may be used by
// several goroutines at once. The zero value has no events.
type Events struct {
	env           schema.Envelope // without event id and type
	hashed        bool
	previousKnown bool
	rows          []fetch.Row // the window's, sorted by DNIS
	sources       []int32     // response rows behind each row; nil when all are 1
	base          []fetch.Row // the rows compared with, sorted by DNIS
	windows       []windowStep
	windowIDs     string  // the ids of windows, one after the other
	gone          []int32 // index in base of each dnis_gone
	goneIDs       string
	closed        *schema.WindowClosed // nil: no events at all
}

// windowStep is what a dnis_window is made from.
type windowStep struct {
	row    int32
	base   int32 // -1: the DNIS is not in base
	change change
}

// change is a schema.Change in one byte.
type change uint8

const (
	changeNew change = iota
	changeChanged
	changeUnchanged
	changeRevised
)

func (c change) value() schema.Change {
	switch c {
	case changeChanged:
		return schema.ChangeChanged
	case changeUnchanged:
		return schema.ChangeUnchanged
	case changeRevised:
		return schema.ChangeRevised
	}
	return schema.ChangeNew
}

// Len is the number of events.
func (e Events) Len() int {
	if e.closed == nil {
		return len(e.windows) + len(e.gone)
	}
	return len(e.windows) + len(e.gone) + 1
}

// Slice returns the events [from, to), 0 <= from <= to <= Len(): the
// dnis_window events, then the dnis_gone events, then the window_closed.
// Each call builds them anew, so the caller may keep or drop them; two
// calls for the same range give equal events. The Previous metrics of a
// dnis_window point into the rows it was compared with.
func (e Events) Slice(from, to int) []schema.Event {
	if from < 0 || from > to || to > e.Len() {
		panic(fmt.Sprintf("snapshot: events [%d, %d) of %d", from, to, e.Len()))
	}
	out := make([]schema.Event, 0, to-from)
	windows := len(e.windows)
	if from < windows {
		out = e.appendWindows(out, from, min(to, windows))
	}
	gone := windows + len(e.gone)
	if from < gone && to > windows {
		out = e.appendGone(out, max(from, windows)-windows, min(to, gone)-windows)
	}
	if to > gone {
		closed := *e.closed
		out = append(out, &closed)
	}
	return out
}

// All returns every event, for small windows and tests.
func (e Events) All() []schema.Event { return e.Slice(0, e.Len()) }

// appendWindows appends the dnis_window events [from, to), each in a slab
// allocated once for the range.
func (e Events) appendWindows(out []schema.Event, from, to int) []schema.Event {
	steps := e.windows[from:to]
	withPrevious := 0
	for _, s := range steps {
		if s.base >= 0 {
			withPrevious++
		}
	}
	windows := make([]schema.DNISWindow, len(steps))
	deltas := make([]schema.Metrics, withPrevious)
	nextDelta := 0
	for k, s := range steps {
		// Field by field: the slab is zero already, and a composite literal
		// would build each 400-byte event aside and copy it.
		row := &e.rows[s.row]
		w := &windows[k]
		w.Envelope = e.env
		w.EventID = idAt(e.windowIDs, from+k)
		w.EventType = schema.TypeDNISWindow
		w.DNIS = row.DNIS
		w.DNISHashed = e.hashed
		w.Change = s.change.value()
		w.SourceRows = e.sourceRows(int(s.row))
		w.Metrics = row.Metrics
		w.PreviousWindowKnown = e.previousKnown
		if s.base >= 0 {
			prev := &e.base[s.base].Metrics
			w.Previous = prev
			d := &deltas[nextDelta]
			nextDelta++
			*d = delta(row.Metrics, *prev)
			w.Delta = d
		}
		out = append(out, w)
	}
	return out
}

// appendGone appends the dnis_gone events [from, to) of the dnis_gone.
func (e Events) appendGone(out []schema.Event, from, to int) []schema.Event {
	gones := make([]schema.DNISGone, to-from)
	for k := range gones {
		j := e.gone[from+k]
		g := &gones[k]
		g.Envelope = e.env
		g.EventID = idAt(e.goneIDs, from+k)
		g.EventType = schema.TypeDNISGone
		g.DNIS = e.base[j].DNIS
		g.DNISHashed = e.hashed
		g.Previous = e.base[j].Metrics
		out = append(out, g)
	}
	return out
}

func (e Events) sourceRows(i int) int {
	if e.sources == nil {
		return 1
	}
	return int(e.sources[i])
}
