package state

import (
	"slices"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/snapshot"
)

func TestMergeSpansJoinsTouchingSpans(t *testing.T) {
	base := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	span := func(from, to int) Span { return Span{Start: at(from), End: at(to)} }
	tests := []struct {
		name  string
		st    State
		added Span
		want  []Span
	}{
		{"first window", State{}, span(0, 5), []Span{span(0, 5)}},
		{"the next window extends the span", State{Published: []Span{span(0, 5)}}, span(5, 10), []Span{span(0, 10)}},
		{"after a gap a new span", State{Published: []Span{span(0, 5)}}, span(30, 35), []Span{span(0, 5), span(30, 35)}},
		{"a window inside a span (a revision) changes nothing", State{Published: []Span{span(0, 20)}}, span(10, 15), []Span{span(0, 20)}},
		{"a window filling a gap joins both sides", State{Published: []Span{span(0, 5), span(10, 15)}}, span(5, 10), []Span{span(0, 15)}},
		{"an earlier window goes first", State{Published: []Span{span(30, 35)}}, span(0, 5), []Span{span(0, 5), span(30, 35)}},
		{"a state from before the spans starts from its windows", State{Windows: []snapshot.Snapshot{
			{WindowStart: at(0), WindowEnd: at(5)}, {WindowStart: at(5), WindowEnd: at(10)},
		}}, span(10, 15), []Span{span(0, 15)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]Span(nil), tt.st.Published...)
			got := MergeSpans(tt.st.PublishedSpans(), []Span{tt.added})
			if !sameSpans(got, tt.want) {
				t.Fatalf("spans %v, want %v", got, tt.want)
			}
			for i := range before {
				if tt.st.Published[i] != before[i] {
					t.Fatalf("MergeSpans changed the state's own spans: %v, were %v", tt.st.Published, before)
				}
			}
		})
	}
}

func TestMergeSpansForgetsTheOldestSpansFirst(t *testing.T) {
	base := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	var spans []Span
	for i := range MaxPublishedSpans {
		start := base.Add(time.Duration(i) * time.Hour)
		spans = append(spans, Span{Start: start, End: start.Add(5 * time.Minute)})
	}
	latest := base.Add(time.Duration(MaxPublishedSpans) * time.Hour)
	got := MergeSpans(spans, []Span{{Start: latest, End: latest.Add(5 * time.Minute)}})
	if len(got) != MaxPublishedSpans || !got[0].Start.Equal(base.Add(time.Hour)) || !got[len(got)-1].Start.Equal(latest) {
		t.Fatalf("%d spans from %s to %s, want %d from %s to %s", len(got), got[0].Start, got[len(got)-1].Start,
			MaxPublishedSpans, base.Add(time.Hour), latest)
	}
}

func TestSpanAtAndNextSpanAfter(t *testing.T) {
	base := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	spans := []Span{{Start: at(30), End: at(40)}, {Start: at(0), End: at(10)}}
	for _, tt := range []struct {
		t        int
		in       bool
		next     bool
		nextFrom int
	}{{-5, false, true, 0}, {0, true, true, 30}, {9, true, true, 30}, {10, false, true, 30}, {35, true, false, 0}, {40, false, false, 0}} {
		_, in := SpanAt(spans, at(tt.t))
		next, found := NextSpanAfter(spans, at(tt.t))
		if in != tt.in || found != tt.next || found && !next.Start.Equal(at(tt.nextFrom)) {
			t.Errorf("at +%dm: in a span %v, next %v %v; want %v, %v from +%dm", tt.t, in, found, next, tt.in, tt.next, tt.nextFrom)
		}
	}
}

// sameSpans reports whether a and b hold the same instants.
func sameSpans(a, b []Span) bool {
	return slices.EqualFunc(a, b, func(x, y Span) bool { return x.Start.Equal(y.Start) && x.End.Equal(y.End) })
}
