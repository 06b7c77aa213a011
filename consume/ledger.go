package consume

import (
	"crypto/sha256"
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
	// RowDeadLetters and EventDeadLetters count the window's dead letters
	// (rows that could not be typed, events that could not be published),
	// when the dead-letter topic is read too.
	RowDeadLetters, EventDeadLetters int
}

// DNISEvents is the number of dnis_window events of the window.
func (t *Tally) DNISEvents() int { return t.New + t.Changed + t.Unchanged + t.Revised }

// Complete reports whether the window_closed arrived and every event it
// counts arrived too: its dnis_window_events (for a revision, the new and
// revised DNIS only, not the rows of the window) and its gone_count.
func (t *Tally) Complete() bool {
	return t.Closed != nil && t.DNISEvents() == t.Closed.DNISWindowEvents && t.Gone == t.Closed.GoneCount
}

// Ledger accumulates records and checks what skill6pub promises about them:
// every event id's copies are identical, the first copies of the windows of
// each key arrive in order, and each window_closed agrees with the DNIS events before it (and,
// with CheckDeadLetters, with the dead letters of its rows).
type Ledger struct {
	// copies holds, per event_id or dead_letter_id, a hash of the first
	// value seen: a month of records fits in memory.
	copies     map[string][sha256.Size]byte
	Duplicates int // event records whose event_id was already seen
	// LateDuplicates counts the duplicates that arrived after a newer
	// window of their key.
	LateDuplicates int
	// DeadLetterDuplicates counts dead letters whose id was already seen.
	DeadLetterDuplicates int
	// CheckDeadLetters makes Problems compare each window's row dead
	// letters with its window_closed's rejected_rows: set it when the
	// dead-letter topic is read into the ledger too.
	CheckDeadLetters bool
	tallies          map[WindowKey]*Tally
	lastStart        map[string]time.Time // record key -> latest window of revision 0 seen
	deadLetters      []*schema.DeadLetter // first copies, in arrival order
	problems         []string
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{copies: map[string][sha256.Size]byte{}, tallies: map[WindowKey]*Tally{}, lastStart: map[string]time.Time{}}
}

// Add records r, an event or a dead letter, in the order of its partition.
// A duplicate (same id) is counted, checked against the first copy and
// otherwise ignored.
func (l *Ledger) Add(r Record) {
	if r.Event == nil {
		if r.DeadLetter == nil {
			l.problems = append(l.problems, fmt.Sprintf("record at partition %d offset %d is neither an event nor a dead letter", r.Partition, r.Offset))
			return
		}
		l.addDeadLetter(r)
		return
	}
	head := r.Event.Head()
	late := head.Revision == 0 && head.WindowStart.Before(l.lastStart[r.Key])
	if !l.first(head.EventID, r.Value, &l.Duplicates) {
		// A copy re-sent after a timeout can land after newer windows of
		// its key (the broker appended the first attempt late); consumers
		// that deduplicate by event_id drop it.
		if late {
			l.LateDuplicates++
		}
		return
	}
	if late {
		// The first copy of every event of a key must follow the key's
		// earlier windows: windows are published strictly in order.
		l.problems = append(l.problems, fmt.Sprintf("key %s: window %s arrived after window %s",
			r.Key, head.WindowStart.Format(time.RFC3339), l.lastStart[r.Key].Format(time.RFC3339)))
	} else if head.Revision == 0 {
		l.lastStart[r.Key] = head.WindowStart
	}
	t := l.tally(KeyOf(head))
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

func (l *Ledger) addDeadLetter(r Record) {
	d := r.DeadLetter
	if !l.first(d.DeadLetterID, r.Value, &l.DeadLetterDuplicates) {
		return
	}
	l.deadLetters = append(l.deadLetters, d)
	t := l.tally(WindowKey{d.Operation, d.SkillID, d.WindowStart.UTC(), d.Revision})
	if d.Source == schema.DeadLetterRow {
		t.RowDeadLetters++
	} else {
		t.EventDeadLetters++
	}
}

// first reports whether id is seen for the first time; a later copy is
// counted in dups and must be identical to the first.
func (l *Ledger) first(id string, value []byte, dups *int) bool {
	sum := sha256.Sum256(value)
	prev, seen := l.copies[id]
	if !seen {
		l.copies[id] = sum
		return true
	}
	*dups++
	if prev != sum {
		l.problems = append(l.problems, fmt.Sprintf("%s re-published with a different payload", id))
	}
	return false
}

func (l *Ledger) tally(k WindowKey) *Tally {
	t := l.tallies[k]
	if t == nil {
		t = &Tally{Key: k}
		l.tallies[k] = t
	}
	return t
}

// DeadLetters returns the first copy of every dead letter added, in the
// order they arrived.
func (l *Ledger) DeadLetters() []*schema.DeadLetter { return l.deadLetters }

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
			out = append(out, fmt.Sprintf("%s: %d DNIS events and %d dead letters but no window_closed",
				t.Key, t.DNISEvents()+t.Gone, t.RowDeadLetters+t.EventDeadLetters))
			continue
		}
		if t.DNISEvents() != t.Closed.DNISWindowEvents {
			out = append(out, fmt.Sprintf("%s: window_closed says %d dnis_window events, %d arrived", t.Key, t.Closed.DNISWindowEvents, t.DNISEvents()))
		}
		if t.Gone != t.Closed.GoneCount {
			out = append(out, fmt.Sprintf("%s: window_closed says %d gone, %d dnis_gone events arrived", t.Key, t.Closed.GoneCount, t.Gone))
		}
		// A revision sends the dead letters of the rejected rows its
		// window had not published: at most as many as it counts.
		if l.CheckDeadLetters && (t.RowDeadLetters > t.Closed.RejectedRows || t.Key.Revision == 0 && t.RowDeadLetters != t.Closed.RejectedRows) {
			out = append(out, fmt.Sprintf("%s: window_closed says %d rejected rows, %d row dead letters arrived", t.Key, t.Closed.RejectedRows, t.RowDeadLetters))
		}
	}
	sort.Strings(out)
	return out
}
