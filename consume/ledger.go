package consume

import (
	"bytes"
	"fmt"
	"sort"
	"time"

	"github.com/skill6pub/skill6pub/schema"
)

// WindowKey names one revision of one window of one skill.
type WindowKey struct {
	Operation string
	SkillID   string
	Start     time.Time
	Revision  int
}

func (k WindowKey) String() string {
	return fmt.Sprintf("%s/%s/%s/r%d", k.Operation, k.SkillID, k.Start.Format(time.RFC3339), k.Revision)
}

// KeyOf returns the WindowKey of an event.
func KeyOf(head *schema.Envelope) WindowKey {
	return WindowKey{head.Operation, head.SkillID, head.WindowStart.UTC(), head.Revision}
}

// Tally is what arrived for one WindowKey.
type Tally struct {
	Key                                    WindowKey
	New, Changed, Unchanged, Revised, Gone int
	Closed                                 *schema.WindowClosed
}

// DNISEvents is the number of dnis_window events of the window.
func (t *Tally) DNISEvents() int { return t.New + t.Changed + t.Unchanged + t.Revised }

// Complete reports whether the window_closed arrived and every event it
// counts arrived too.
func (t *Tally) Complete() bool {
	if t.Closed == nil || t.Gone != t.Closed.GoneCount {
		return false
	}
	return t.Key.Revision > 0 || t.DNISEvents() == t.Closed.RowCount
}

// Ledger accumulates records and checks what skill6pub promises about them:
// every event id's copies are identical, and each window_closed agrees with
// the DNIS events before it.
type Ledger struct {
	copies     map[string][]byte // event_id -> first value seen
	Duplicates int               // records whose event_id was already seen
	tallies    map[WindowKey]*Tally
	problems   []string
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{copies: map[string][]byte{}, tallies: map[WindowKey]*Tally{}}
}

// Add records r. A duplicate (same event_id) is counted, checked against the
// first copy and otherwise ignored.
func (l *Ledger) Add(r Record) {
	head := r.Event.Head()
	if first, seen := l.copies[head.EventID]; seen {
		l.Duplicates++
		if !bytes.Equal(first, r.Value) {
			l.problems = append(l.problems, fmt.Sprintf("event %s re-published with a different payload", head.EventID))
		}
		return
	}
	l.copies[head.EventID] = r.Value
	k := KeyOf(head)
	t := l.tallies[k]
	if t == nil {
		t = &Tally{Key: k}
		l.tallies[k] = t
	}
	switch ev := r.Event.(type) {
	case *schema.DNISWindow:
		switch ev.Change {
		case schema.ChangeNew:
			t.New++
		case schema.ChangeChanged:
			t.Changed++
		case schema.ChangeUnchanged:
			t.Unchanged++
		case schema.ChangeRevised:
			t.Revised++
		}
	case *schema.DNISGone:
		t.Gone++
	case *schema.WindowClosed:
		t.Closed = ev
	}
}

// Tally returns what arrived for k, or nil.
func (l *Ledger) Tally(k WindowKey) *Tally { return l.tallies[k] }

// Closed returns the tallies that have their window_closed, ordered by
// skill, window start and revision.
func (l *Ledger) Closed() []*Tally {
	var out []*Tally
	for _, t := range l.tallies {
		if t.Closed != nil {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Key, out[j].Key
		if a.SkillID != b.SkillID {
			return a.SkillID < b.SkillID
		}
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.Revision < b.Revision
	})
	return out
}

// Problems returns every broken promise found so far: duplicates that
// differ, window_closed counts that disagree with the events of their
// window, and DNIS events of a window that never closed.
func (l *Ledger) Problems() []string {
	out := append([]string(nil), l.problems...)
	for _, t := range l.tallies {
		if t.Closed == nil {
			out = append(out, fmt.Sprintf("%s: %d DNIS events but no window_closed", t.Key, t.DNISEvents()+t.Gone))
			continue
		}
		if t.Key.Revision == 0 && t.DNISEvents() != t.Closed.RowCount {
			out = append(out, fmt.Sprintf("%s: window_closed says %d rows, %d dnis_window events arrived", t.Key, t.Closed.RowCount, t.DNISEvents()))
		}
		if t.Gone != t.Closed.GoneCount {
			out = append(out, fmt.Sprintf("%s: window_closed says %d gone, %d dnis_gone events arrived", t.Key, t.Closed.GoneCount, t.Gone))
		}
	}
	sort.Strings(out)
	return out
}
