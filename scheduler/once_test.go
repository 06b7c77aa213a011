package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/window"
)

func TestOnce(t *testing.T) {
	tests := []struct {
		name          string
		stored        int // minute of the stored last window (09:xx), -1 for none
		at            int // minute of --window, -1 for the latest complete
		wantStart     int // minute of the window published, -1 for none
		previousKnown bool
		committed     bool
		logged        string
	}{
		{"next window after the state", 55 - 60, -1, 0, true, true, ""},
		{"fresh", -1, -1, 0, false, true, "no state for this skill"},
		{"gap", 40 - 60, -1, 0, false, true, "windows between the last published one and this one are missing"},
		{"window already published", 0, 0, -1, false, false, "already published (live, by once or by a backfill): nothing is sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testConfig("12"), clock.NewFake(time.Time{}))
			h.clock.(*clock.Fake).Set(h.at(9, 7, 30))
			cal := h.s.Calendar()
			if tt.stored != -1 {
				h.seed(t, "12", cal.WindowAt(h.at(9, 0, 0).Add(time.Duration(tt.stored)*time.Minute)))
			}
			var at time.Time
			if tt.at != -1 {
				at = h.at(9, 0, 0).Add(time.Duration(tt.at)*time.Minute + 30*time.Second)
			}
			if err := h.s.Once(t.Context(), at); err != nil {
				t.Fatalf("Once = %v", err)
			}
			pubs := h.pub.list()
			wantStart := h.at(9, 0, 0).Add(time.Duration(tt.wantStart) * time.Minute)
			switch {
			case tt.wantStart == -1 && (len(pubs) != 0 || len(h.fetcher.callList()) != 0):
				t.Fatalf("publications = %+v after %d wolkvox calls, want nothing fetched or sent", pubs, len(h.fetcher.callList()))
			case tt.wantStart != -1 && (len(pubs) != 1 || !pubs[0].start.Equal(wantStart) || pubs[0].previousKnown != tt.previousKnown):
				t.Fatalf("publications = %+v, want one of %s (previous known: %v)", pubs, wantStart, tt.previousKnown)
			}
			saves := h.store.commits()
			if tt.committed != (len(saves) == 1) {
				t.Fatalf("saves = %d, want committed=%v", len(saves), tt.committed)
			}
			if tt.committed {
				if last, _ := saves[0].Last(); !last.WindowStart.Equal(wantStart) || len(saves[0].Windows) != 1 {
					t.Errorf("state = %+v", saves[0])
				}
			}
			if tt.logged != "" {
				lines := h.logs.withMessage(t, tt.logged)
				if len(lines) != 1 || lines[0]["skill"] != "12" || lines[0]["window_start"] == nil {
					t.Errorf("want one line %q with skill and window_start, got %v", tt.logged, lines)
				}
			}
		})
	}
}

func TestOnceRefusesAWindowThatIsNotDue(t *testing.T) {
	h := newHarness(t, testConfig("12"), clock.NewFake(time.Time{}))
	h.clock.(*clock.Fake).Set(h.at(9, 10, 30))
	err := h.s.Once(t.Context(), h.at(9, 6, 0)) // 09:05-09:10, due 09:11
	var nd *NotDueError
	if !errors.As(err, &nd) || !nd.Due.Equal(h.at(9, 11, 0)) {
		t.Fatalf("Once = %v, want *NotDueError due at 09:11", err)
	}
	if len(h.fetcher.callList()) != 0 {
		t.Error("Once fetched a window that is not due")
	}
}

func TestOnceNamesEveryFailingSkillAndPublishesTheOthers(t *testing.T) {
	h := newHarness(t, testConfig("12", "15", "16"), clock.NewFake(time.Time{}))
	h.clock.(*clock.Fake).Set(h.at(9, 7, 30))
	h.fetcher.fail = func(c fetchCall, _ int) error {
		if c.skill != "15" {
			return nil
		}
		return &fetch.Error{Kind: fetch.KindAuth, Status: 403, Msg: "invalid token"}
	}
	h.pub.fail = func(p publication, _ int) error {
		if p.skill == "16" {
			return errors.New("kafka: topic authorization failed")
		}
		return nil
	}
	err := h.s.Once(t.Context(), time.Time{})
	var we *window.Error
	if !errors.As(err, &we) || !errors.Is(err, fetch.ErrAuth) {
		t.Fatalf("Once = %v, want a *window.Error wrapping fetch.ErrAuth", err)
	}
	for _, want := range []string{"skill 15 window 2026-05-04T09:00:00-05:00: fetch", "skill 16 window 2026-05-04T09:00:00-05:00: publish"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if pubs := h.pub.list(); len(pubs) != 1 || pubs[0].skill != "12" {
		t.Errorf("publications = %+v, want skill 12 only", pubs)
	}
	if saves := h.store.commits(); len(saves) != 1 || saves[0].Key.SkillID != "12" {
		t.Errorf("saves = %+v, want skill 12 only", saves)
	}
}

// TestOnceOfAWindowNeverPublishedPublishesIt: once of a window that lies in
// a logged gap, or before the first window of a fresh state, publishes it
// (compared with no window: the one before it was not published) and
// leaves the stream's last window where it was. Nothing said "already
// published" for a window that never went out.
func TestOnceOfAWindowNeverPublishedPublishesIt(t *testing.T) {
	for name, stored := range map[string]int{"in a gap": 0, "before a fresh state's first window": 5} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, testConfig("12"), clock.NewFake(time.Time{}))
			h.clock.(*clock.Fake).Set(h.at(9, 20, 0))
			cal := h.s.Calendar()
			last := cal.WindowAt(h.at(9, stored, 0))
			if stored == 0 {
				h.seed(t, "12", cal.WindowAt(h.at(8, 0, 0)))
				if err := h.s.Once(t.Context(), last.Start); err != nil { // 08:05-09:00 is a gap now
					t.Fatal(err)
				}
			} else if err := h.s.Once(t.Context(), last.Start); err != nil {
				t.Fatal(err)
			}
			before := len(h.pub.list())
			asked := cal.WindowAt(h.at(8, 30, 0))
			if err := h.s.Once(t.Context(), asked.Start); err != nil {
				t.Fatalf("Once = %v", err)
			}
			pubs := h.pub.list()[before:]
			if len(pubs) != 1 || !pubs[0].start.Equal(asked.Start) || pubs[0].previousKnown {
				t.Fatalf("publications %+v, want 08:30 without a previous window", pubs)
			}
			if lines := h.logs.withMessage(t, "already published"); len(lines) != 0 {
				t.Errorf("logged %v for a window never published", lines)
			}
			st, _ := h.store.get(liveKey("12"))
			if head, _ := st.Last(); !head.WindowStart.Equal(last.Start) {
				t.Errorf("the stream's last window is %s, want %s still", head.WindowStart, last.Start)
			}
			if _, ok := state.SpanAt(st.Published, asked.Start); !ok {
				t.Errorf("spans %v do not hold 08:30", st.Published)
			}
			// Asked again, it is published already: nothing is sent.
			if err := h.s.Once(t.Context(), asked.Start); err != nil || len(h.pub.list()) != before+1 {
				t.Errorf("once of it again: %v, %d publications, want none more", err, len(h.pub.list())-before-1)
			}
		})
	}
}
