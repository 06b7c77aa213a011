package scheduler

import (
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
)

func TestWithPublishedMergesTouchingSpans(t *testing.T) {
	base := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	span := func(from, to int) state.Span { return state.Span{Start: at(from), End: at(to)} }
	window := func(from int) Window { return Window{Start: at(from), End: at(from + 5)} }
	tests := []struct {
		name  string
		st    state.State
		added Window
		want  []state.Span
	}{
		{"first window", state.State{}, window(0), []state.Span{span(0, 5)}},
		{"the next window extends the span", state.State{Published: []state.Span{span(0, 5)}}, window(5), []state.Span{span(0, 10)}},
		{"after a gap a new span", state.State{Published: []state.Span{span(0, 5)}}, window(30), []state.Span{span(0, 5), span(30, 35)}},
		{"a window inside a span (a revision) changes nothing", state.State{Published: []state.Span{span(0, 20)}}, window(10), []state.Span{span(0, 20)}},
		{"a window filling a gap joins both sides", state.State{Published: []state.Span{span(0, 5), span(10, 15)}}, window(5), []state.Span{span(0, 15)}},
		{"an earlier window goes first", state.State{Published: []state.Span{span(30, 35)}}, window(0), []state.Span{span(0, 5), span(30, 35)}},
		{"a state from before the spans starts from its windows", state.State{Windows: []snapshot.Snapshot{
			{WindowStart: at(0), WindowEnd: at(5)}, {WindowStart: at(5), WindowEnd: at(10)},
		}}, window(10), []state.Span{span(0, 15)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]state.Span(nil), tt.st.Published...)
			got := withPublished(tt.st, tt.added)
			if len(got) != len(tt.want) {
				t.Fatalf("spans %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].Start.Equal(tt.want[i].Start) || !got[i].End.Equal(tt.want[i].End) {
					t.Fatalf("spans %v, want %v", got, tt.want)
				}
			}
			for i := range before {
				if tt.st.Published[i] != before[i] {
					t.Fatalf("withPublished changed the state's own spans: %v, were %v", tt.st.Published, before)
				}
			}
		})
	}
}

func TestWithPublishedForgetsTheOldestSpansFirst(t *testing.T) {
	base := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	var st state.State
	for i := range maxPublishedSpans {
		start := base.Add(time.Duration(i) * time.Hour)
		st.Published = append(st.Published, state.Span{Start: start, End: start.Add(5 * time.Minute)})
	}
	latest := base.Add(time.Duration(maxPublishedSpans) * time.Hour)
	got := withPublished(st, Window{Start: latest, End: latest.Add(5 * time.Minute)})
	if len(got) != maxPublishedSpans || !got[0].Start.Equal(base.Add(time.Hour)) || !got[len(got)-1].Start.Equal(latest) {
		t.Fatalf("%d spans from %s to %s, want %d from %s to %s", len(got), got[0].Start, got[len(got)-1].Start,
			maxPublishedSpans, base.Add(time.Hour), latest)
	}
}

func TestPublishedIn(t *testing.T) {
	base := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	spans := []state.Span{{Start: base, End: base.Add(time.Hour)}}
	for _, tt := range []struct {
		from, to time.Duration
		want     bool
	}{{0, 5, true}, {55, 60, true}, {-5, 0, false}, {60, 65, false}, {58, 63, false}} {
		w := Window{Start: base.Add(tt.from * time.Minute), End: base.Add(tt.to * time.Minute)}
		if got := publishedIn(spans, w); got != tt.want {
			t.Errorf("window %s-%s published: %v, want %v", w.Start.Format("15:04"), w.End.Format("15:04"), got, tt.want)
		}
	}
}
