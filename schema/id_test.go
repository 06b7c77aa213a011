package schema_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/schema"
)

// TestEventIDGoldenVector pins the id construction. If it fails, every id
// ever published changes and consumers stop deduplicating across the
// change: change the vector only with a new idDomain and a line in the
// README's upgrade notes.
func TestEventIDGoldenVector(t *testing.T) {
	cot := time.FixedZone("COT", -5*3600)
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, cot)
	previous := start.Add(-5 * time.Minute)
	scope := schema.IDScope{Operation: "0032", SkillID: "12", WindowStart: start, WindowEnd: start.Add(5 * time.Minute), PreviousWindowStart: &previous}
	got := schema.EventID("dnis_window", scope, "573001234567")
	const want = "ebbdbbf533fe39d5adbee71af2bb2305"
	if got != want {
		t.Errorf("EventID = %s, want %s", got, want)
	}

	// The construction as the package documentation states it, written out
	// byte by byte.
	window := sha256.Sum256([]byte("skill6pub.event_id.v2" +
		"\x00\x00\x00\x0b" + "dnis_window" +
		"\x00\x00\x00\x04" + "0032" +
		"\x00\x00\x00\x02" + "12" +
		"\x00\x00\x00\x00\x67\xcd\xac\xf0" + // window_start 2025-03-09T15:00:00Z = 1741532400
		"\x00\x00\x00\x00\x67\xcd\xae\x1c" + // window_end 1741532700
		"\x00\x00\x00\x00\x00\x00\x00\x00" + // revision 0
		"\x01\x00\x00\x00\x00\x67\xcd\xab\xc4")) // previous window start 1741532100
	sum := sha256.Sum256(append(window[:], "\x00\x00\x00\x0c"+"573001234567"...))
	if doc := hex.EncodeToString(sum[:16]); doc != want {
		t.Errorf("documented construction gives %s, EventID %s", doc, want)
	}
}

func TestEventIDDependsOnEveryInput(t *testing.T) {
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, time.UTC)
	previous, earlier := start.Add(-5*time.Minute), start.Add(-10*time.Minute)
	scope := schema.IDScope{Operation: "0032", SkillID: "12", WindowStart: start, WindowEnd: start.Add(5 * time.Minute), PreviousWindowStart: &previous}
	with := func(edit func(*schema.IDScope)) schema.IDScope {
		s := scope
		edit(&s)
		return s
	}
	base := schema.EventID("dnis_window", scope, "5730012")
	others := map[string]string{
		"type":     schema.EventID("dnis_gone", scope, "5730012"),
		"op":       schema.EventID("dnis_window", with(func(s *schema.IDScope) { s.Operation = "0033" }), "5730012"),
		"skill":    schema.EventID("dnis_window", with(func(s *schema.IDScope) { s.SkillID = "13" }), "5730012"),
		"dnis":     schema.EventID("dnis_window", scope, "5730013"),
		"start":    schema.EventID("dnis_window", with(func(s *schema.IDScope) { s.WindowStart = start.Add(-time.Minute) }), "5730012"),
		"end":      schema.EventID("dnis_window", with(func(s *schema.IDScope) { s.WindowEnd = start.Add(time.Hour) }), "5730012"),
		"revision": schema.EventID("dnis_window", with(func(s *schema.IDScope) { s.Revision = 1 }), "5730012"),
		"previous": schema.EventID("dnis_window", with(func(s *schema.IDScope) { s.PreviousWindowStart = &earlier }), "5730012"),
		"none":     schema.EventID("dnis_window", with(func(s *schema.IDScope) { s.PreviousWindowStart = nil }), "5730012"),
		// Without length prefixes these two would hash the same bytes.
		"boundary": schema.EventID("dnis_window", with(func(s *schema.IDScope) { s.SkillID = "125" }), "730012"),
	}
	for name, id := range others {
		if id == base {
			t.Errorf("changing %s kept the id %s", name, id)
		}
	}
	cot := time.FixedZone("COT", -5*3600)
	inCOT := with(func(s *schema.IDScope) {
		s.WindowStart, s.WindowEnd = s.WindowStart.In(cot), s.WindowEnd.In(cot)
		p := previous.In(cot)
		s.PreviousWindowStart = &p
	})
	if schema.EventID("dnis_window", inCOT, "5730012") != base {
		t.Error("the id depends on the zone the window is written in")
	}
}

// TestIDAppenderFollowsTheDocumentation: ids appended one after the other
// are each what the documented construction gives, for short subjects, for
// pseudonyms (two SHA-256 blocks) and for long ones, whatever came before.
func TestIDAppenderFollowsTheDocumentation(t *testing.T) {
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, time.UTC)
	documented := func(subject string) string {
		var window []byte
		window = append(window, "skill6pub.event_id.v2"...)
		for _, s := range []string{"dnis_gone", "0032", "all"} {
			window = binary.BigEndian.AppendUint32(window, uint32(len(s)))
			window = append(window, s...)
		}
		window = binary.BigEndian.AppendUint64(window, uint64(start.Unix()))
		window = binary.BigEndian.AppendUint64(window, uint64(start.Add(time.Hour).Unix()))
		window = binary.BigEndian.AppendUint64(window, 7)
		window = append(window, 0) // no previous window
		sum := sha256.Sum256(window)
		input := binary.BigEndian.AppendUint32(sum[:], uint32(len(subject)))
		id := sha256.Sum256(append(input, subject...))
		return hex.EncodeToString(id[:16])
	}
	subjects := []string{"573001234567", strings.Repeat("ab", 32), "", strings.Repeat("9", 300), "1", schema.WindowSubject}
	scope := schema.IDScope{Operation: "0032", SkillID: "all", WindowStart: start, WindowEnd: start.Add(time.Hour), Revision: 7}
	a := schema.NewIDAppender("dnis_gone", scope)
	var all []byte
	for _, s := range subjects {
		all = a.Append(all, s)
	}
	for i, s := range subjects {
		got := string(all[i*schema.EventIDLength : (i+1)*schema.EventIDLength])
		if want := documented(s); got != want {
			t.Errorf("subject %q: appended id %s, documented %s", s, got, want)
		}
		if want := schema.EventID("dnis_gone", scope, s); got != want {
			t.Errorf("subject %q: appended id %s, EventID %s", s, got, want)
		}
	}
}
