package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/fetch"
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
		{"window already published", 0, 0, -1, false, false, "already published: nothing is sent"},
		{"earlier window asked for", 0, 10 - 60, -1, false, false, "already published: nothing is sent"},
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
	var we *WindowError
	if !errors.As(err, &we) || !errors.Is(err, fetch.ErrAuth) {
		t.Fatalf("Once = %v, want a *WindowError wrapping fetch.ErrAuth", err)
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
