package scheduler

import (
	"slices"

	"github.com/skill6pub/skill6pub/state"
)

// maxPublishedSpans bounds the spans a state keeps. Each is a stretch of
// windows published without a gap, so a new one starts only after a gap
// (downtime beyond MAX_CATCHUP, or `once` of a later window): 1,000 is
// years of history. The oldest are forgotten first, and a backfill over
// them publishes their windows again.
const maxPublishedSpans = 1000

// publishedSpans returns when st's windows were published: its spans, or,
// for a state saved before the spans were kept, its windows.
func publishedSpans(st state.State) []state.Span {
	if len(st.Published) > 0 {
		return st.Published
	}
	spans := make([]state.Span, 0, len(st.Windows))
	for _, snap := range st.Windows {
		spans = append(spans, state.Span{Start: snap.WindowStart, End: snap.WindowEnd})
	}
	return spans
}

// withPublished returns the spans of the state that commits w: st's with w
// added. st's are left as they are.
func withPublished(st state.State, w Window) []state.Span {
	return mergeSpans(publishedSpans(st), []state.Span{{Start: w.Start, End: w.End}})
}

// mergeSpans returns a new slice of the spans of a and b, sorted, the spans
// that touch merged into one, the oldest dropped beyond maxPublishedSpans.
func mergeSpans(a, b []state.Span) []state.Span {
	spans := slices.Concat(a, b)
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b state.Span) int { return a.Start.Compare(b.Start) })
	merged := spans[:1]
	for _, span := range spans[1:] {
		last := &merged[len(merged)-1]
		switch {
		case span.Start.After(last.End):
			merged = append(merged, span)
		case span.End.After(last.End):
			last.End = span.End
		}
	}
	if drop := len(merged) - maxPublishedSpans; drop > 0 {
		merged = merged[drop:]
	}
	return merged
}

// sameSpans reports whether a and b hold the same instants.
func sameSpans(a, b []state.Span) bool {
	return slices.EqualFunc(a, b, func(x, y state.Span) bool { return x.Start.Equal(y.Start) && x.End.Equal(y.End) })
}

// publishedIn reports whether w lies within one of spans.
func publishedIn(spans []state.Span, w Window) bool {
	_, ok := spanOf(spans, w)
	return ok
}

// spanOf returns the span of spans that w lies within.
func spanOf(spans []state.Span, w Window) (state.Span, bool) {
	for _, span := range spans {
		if !w.Start.Before(span.Start) && !w.End.After(span.End) {
			return span, true
		}
	}
	return state.Span{}, false
}
