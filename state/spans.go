package state

import (
	"slices"
	"time"
)

// MaxPublishedSpans bounds the spans a state keeps. Each is a stretch of
// windows published without a gap, so a new one starts only after a gap
// (downtime beyond MAX_CATCHUP, or `once` of a later window): 1,000 is
// years of history. The oldest are forgotten first, and a backfill over
// them publishes their windows again.
const MaxPublishedSpans = 1000

// PublishedSpans returns when s's windows were published: its spans, or,
// for a state saved before the spans were kept, its windows.
func (s State) PublishedSpans() []Span {
	if len(s.Published) > 0 {
		return s.Published
	}
	spans := make([]Span, 0, len(s.Windows))
	for _, snap := range s.Windows {
		spans = append(spans, Span{Start: snap.WindowStart, End: snap.WindowEnd})
	}
	return spans
}

// MergeSpans returns a new slice of the spans of a and b, sorted, the spans
// that touch merged into one, the oldest dropped beyond MaxPublishedSpans.
// a and b are left as they are.
func MergeSpans(a, b []Span) []Span {
	spans := slices.Concat(a, b)
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b Span) int { return a.Start.Compare(b.Start) })
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
	if drop := len(merged) - MaxPublishedSpans; drop > 0 {
		merged = merged[drop:]
	}
	return merged
}

// SpanAt returns the span of spans that holds the instant t (Start <= t < End).
func SpanAt(spans []Span, t time.Time) (Span, bool) {
	for _, span := range spans {
		if !t.Before(span.Start) && t.Before(span.End) {
			return span, true
		}
	}
	return Span{}, false
}

// NextSpanAfter returns the earliest span of spans that starts after t.
func NextSpanAfter(spans []Span, t time.Time) (Span, bool) {
	var next Span
	found := false
	for _, span := range spans {
		if span.Start.After(t) && (!found || span.Start.Before(next.Start)) {
			next, found = span, true
		}
	}
	return next, found
}
