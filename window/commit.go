package window

import (
	"context"
	"slices"
	"sync"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
)

// Result says what one window's work published.
type Result struct {
	Window   Window
	Revision int
	// Published is false when there was nothing to publish: no window in
	// flight to recover, or a revision whose data had not changed.
	Published     bool
	Resumed       bool // it went out from its write-ahead record
	PreviousKnown bool
	// Followed: a revision that also revised the window after it (a DNIS
	// it added that the next window lacks gets its dnis_gone there).
	Followed    bool
	Rows        int
	Events      int
	DeadLetters int
}

// Result says what p published, once committed.
func (p *Prepared) Result() Result {
	out := p.Output()
	r := Result{
		Window: p.job.Window, Revision: p.job.Revision, Published: p.Changed(), Resumed: p.resumed,
		PreviousKnown: out.Snapshot.PreviousWindowStart != nil,
		Rows:          len(out.Snapshot.Rows), Events: out.Events.Len(), DeadLetters: len(out.DeadLetters),
	}
	if p.follow != nil {
		r.Events += p.follow.Events.Len()
		r.Followed = true
	}
	return r
}

// Run prepares job's window of st's stream and commits it: the whole of one
// window's work. It returns the state it leaves: st committed with the
// window; st with the window's write-ahead record when the publish or the
// commit failed (the next Run of the same job goes out from that record);
// st itself when the fetch failed or a revision found nothing changed.
func (t *Transaction) Run(ctx context.Context, st state.State, job Job) (state.State, Result, error) {
	// The fetch of a window in flight at shutdown gets the same grace as
	// its commit (which takes its own, from the same end of ctx).
	fctx, cancel := t.GraceContext(ctx)
	defer cancel()
	p, err := t.Prepare(fctx, st, job)
	if err != nil {
		return st, Result{Window: job.Window, Revision: job.Revision}, err
	}
	if !p.Changed() {
		return st, p.Result(), nil
	}
	next, err := t.Commit(ctx, st, p)
	return next, p.Result(), err
}

// Commit publishes p, prepared from st, and commits it. Before the first
// record is sent it saves p as st's write-ahead record (unless st holds it
// already: p was resumed from it), with the diff running meanwhile: both
// only read the fetched rows. Once the record is saved, the rows in
// response order are let go (the output holds them sorted and merged), and
// so are those of the record kept in memory: a retry reads them back from
// the store. A window whose publish fails is never committed.
func (t *Transaction) Commit(ctx context.Context, st state.State, p *Prepared) (state.State, error) {
	wctx, cancel := t.GraceContext(ctx)
	defer cancel()
	if !p.Changed() {
		return st, nil
	}
	if err := superseded(st, p); err != nil {
		return st, &Error{Skill: st.Key.SkillID, Window: p.job.Window, Step: StepSavePending, Err: err}
	}
	ahead, err := t.writeAhead(st, p)
	if err != nil {
		return st, err
	}
	out := p.Output()
	skill, w := st.Key.SkillID, p.job.Window
	// The producer counts a failure (skill6pub_publish_errors_total).
	if err := t.deps.Publisher.Publish(wctx, out.Events, out.DeadLetters); err != nil {
		return ahead, &Error{Skill: skill, Window: w, Step: StepPublish, Err: err}
	}
	if f := p.follow; f != nil {
		if err := t.deps.Publisher.Publish(wctx, f.Events, nil); err != nil {
			return ahead, &Error{Skill: skill, Window: w, Step: StepPublish, Err: err}
		}
	}
	if err := t.publishTable(wctx, ahead, p); err != nil {
		return ahead, &Error{Skill: skill, Window: w, Step: StepPublishTable, Err: err}
	}
	if t.deps.Failpoint != nil {
		t.deps.Failpoint(FailpointAfterPublish)
	}
	next := committed(ahead, w, p.job.Revision, out.Snapshot, t.deps.Keep)
	if f := p.follow; f != nil {
		next = committed(next, Window{Start: f.Snapshot.WindowStart, End: f.Snapshot.WindowEnd}, f.Snapshot.Revision, f.Snapshot, t.deps.Keep)
	}
	if err := t.deps.Store.Save(next); err != nil {
		return ahead, &Error{Skill: skill, Window: w, Step: StepSave, Err: err}
	}
	return next, nil
}

// publishTable writes p's events to the table topic when p's window is, or
// becomes, the latest of st's stream; and the events p's revision gives the
// window after it, when that one is the latest.
func (t *Transaction) publishTable(ctx context.Context, st state.State, p *Prepared) error {
	if t.deps.Table == nil {
		return nil
	}
	last, ok := st.Last()
	w := p.job.Window
	latest := !ok || (p.job.Revision == 0 && !w.Start.Before(last.WindowEnd)) || (p.job.Revision > 0 && last.WindowStart.Equal(w.Start))
	if latest {
		if err := t.deps.Table.PublishTable(ctx, p.Output().Events); err != nil {
			return err
		}
	}
	if f := p.follow; f != nil && last.WindowStart.Equal(f.Snapshot.WindowStart) {
		return t.deps.Table.PublishTable(ctx, f.Events)
	}
	return nil
}

// writeAhead returns st with p as its write-ahead record once the record is
// saved, and p's output, diffed meanwhile: on two cores a 100,000-row
// window's diff then hides in its save instead of adding to the time before
// the first record is sent.
func (t *Transaction) writeAhead(st state.State, p *Prepared) (state.State, error) {
	if pending := st.Pending; pendingIs(pending, p.job) && pending.FetchedAt.Equal(p.cur.FetchedAt) {
		p.Output()
		return st, nil
	}
	ahead := state.State{Key: st.Key, Windows: st.Windows, Published: st.Published, Pending: &state.Pending{
		WindowStart: p.job.Window.Start,
		WindowEnd:   p.job.Window.End,
		Revision:    p.job.Revision,
		FetchedAt:   p.cur.FetchedAt,
		Report:      p.cur.Report,
		DNISKeyID:   p.cur.Hasher.KeyID(),
		Base:        baseRef(st, p.job.Base),
	}}
	var (
		err   error
		saver sync.WaitGroup
	)
	saver.Go(func() { err = t.deps.Store.Save(ahead) })
	p.Output()
	saver.Wait()
	if err != nil {
		return st, &Error{Skill: st.Key.SkillID, Window: p.job.Window, Step: StepSavePending, Err: err}
	}
	// The store may keep what it was given: the copy in memory drops the
	// rows, not the saved record. The rows in response order are a large
	// share of a large window's memory while it is published (BENCHMARKS.md,
	// figure 4).
	kept := *ahead.Pending
	kept.Report = fetch.Report{NoData: kept.Report.NoData, MaybeTruncated: kept.Report.MaybeTruncated}
	ahead.Pending = &kept
	p.cur.Report.Rows = nil
	return ahead, nil
}

// baseRef is how the write-ahead record of a window of st names base: by
// its window and revision when st's windows hold it, whole otherwise.
func baseRef(st state.State, base *snapshot.Snapshot) *state.Base {
	if base == nil {
		return &state.Base{}
	}
	ref := &state.Base{Start: &base.WindowStart, Revision: base.Revision}
	if !slices.ContainsFunc(st.Windows, func(s snapshot.Snapshot) bool {
		return s.WindowStart.Equal(base.WindowStart) && s.Revision == base.Revision
	}) {
		ref.Snapshot = base
	}
	return ref
}

// committed returns the state st leaves once window w went out as revision
// revision with snapshot snap, keeping at most keep latest windows. A first
// publication joins the published spans and moves the latest windows
// forward when it follows them (or starts a new run of them after a gap);
// a window older than the latest one leaves them as they are. A revision
// replaces the snapshot it revised. st itself is left as it is.
func committed(st state.State, w Window, revision int, snap snapshot.Snapshot, keep int) state.State {
	next := state.State{Key: st.Key, Windows: st.Windows, Published: st.Published}
	if revision > 0 {
		if i := slices.IndexFunc(st.Windows, func(s snapshot.Snapshot) bool { return s.WindowStart.Equal(w.Start) }); i >= 0 {
			next.Windows = slices.Clone(st.Windows)
			next.Windows[i] = snap
		}
		return next
	}
	next.Published = state.MergeSpans(st.PublishedSpans(), []state.Span{{Start: w.Start, End: w.End}})
	last, ok := st.Last()
	switch {
	case !ok || w.Start.After(last.WindowEnd):
		next.Windows = []snapshot.Snapshot{snap}
	case w.Start.Equal(last.WindowEnd):
		next.Windows = appendKeeping(st.Windows, snap, keep)
	}
	return next
}

// appendKeeping returns a new slice of the last keep-1 snapshots of windows
// followed by snap; windows itself is not modified.
func appendKeeping(windows []snapshot.Snapshot, snap snapshot.Snapshot, keep int) []snapshot.Snapshot {
	if drop := len(windows) + 1 - keep; drop > 0 {
		windows = windows[min(drop, len(windows)):]
	}
	return append(slices.Clone(windows), snap)
}
