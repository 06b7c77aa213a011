package window

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/snapshot"
	"github.com/skill6pub/skill6pub/state"
)

// Prepared is a window fetched, or resumed from its write-ahead record,
// ready to be committed once. Its diff runs on the first call to Output,
// or beside the save of its write-ahead record in Commit.
type Prepared struct {
	diff    func(prev *snapshot.Snapshot, cur snapshot.Window) snapshot.Output
	job     Job // Base as the window is compared with it
	cur     snapshot.Window
	resumed bool
	// emptyRefetch: a revision's re-fetch came back empty for a window
	// that had rows (see Changed).
	emptyRefetch bool
	out          *snapshot.Output
	changed      bool
	// next is the published window after a revised one, when the stream
	// holds it; follow is what the revision means for it (snapshot.Follow),
	// nil when nothing.
	next   *snapshot.Snapshot
	follow *snapshot.Output
}

// Window returns the prepared window.
func (p *Prepared) Window() Window { return p.job.Window }

// Resumed reports whether the window comes from its write-ahead record
// rather than a fetch.
func (p *Prepared) Resumed() bool { return p.resumed }

// Output returns the window's events, dead letters and snapshot: the diff
// against its base (a revision: what changed since the base), computed on
// the first call.
func (p *Prepared) Output() snapshot.Output {
	if p.out == nil {
		var out snapshot.Output
		switch {
		case p.job.Revision == 0:
			out, p.changed = p.diff(p.job.Base, p.cur), true
		case p.emptyRefetch:
			out = snapshot.Output{Snapshot: *p.job.Base}
		default:
			out, p.changed = snapshot.Revise(*p.job.Base, p.cur)
			if p.changed && p.next != nil {
				if follow, ok := snapshot.Follow(*p.job.Base, out.Snapshot, *p.next, p.cur); ok {
					p.follow = &follow
				}
			}
		}
		p.out = &out
	}
	return *p.out
}

// Changed reports whether there is anything to publish: always for a first
// publication; for a revision, whether the re-fetch differs from what was
// published. Calls of a past window do not un-happen, so an empty re-fetch
// of a window that had rows is a passing glitch of wolkvox, not a
// revision that would mark every caller gone.
func (p *Prepared) Changed() bool {
	if p.job.Revision == 0 {
		return true
	}
	p.Output()
	return p.changed
}

// Prepare returns job's window of st's skill: from st's write-ahead record
// when that record is this window and revision (the window goes out again
// exactly as before, compared with the same base, whatever job.Base says),
// fetched otherwise. A record made under another DNIS_HMAC_KEY is not
// replayed: its pseudonyms are not those of the key in use.
func (t *Transaction) Prepare(ctx context.Context, st state.State, job Job) (*Prepared, error) {
	skill := st.Key.SkillID
	wlog := Logger(t.deps.Logger.With().Str("skill", skill).Logger(), job.Window)
	if p := st.Pending; pendingIs(p, job) {
		if p.DNISKeyID == t.deps.Hasher.KeyID() {
			return t.resume(st, job)
		}
		wlog.Warn().Msg("the window in flight at the last stop was pseudonymized with another DNIS_HMAC_KEY: fetching it again")
	}
	report, err := t.deps.Fetcher.Fetch(ctx, skill, job.Window.Start, job.Window.End)
	if err != nil {
		return nil, &Error{Skill: skill, Window: job.Window, Step: StepFetch, Err: err}
	}
	cur := t.windowOf(skill, job.Window, t.deps.Clock.Now(), snapshot.Pseudonymize(report, t.deps.Hasher))
	p := &Prepared{diff: t.diff, job: job, cur: cur, next: nextOf(st, job)}
	if job.Revision > 0 && len(job.Base.Rows) > 0 && len(cur.Report.Rows) == 0 && len(cur.Report.Rejected) == 0 {
		p.emptyRefetch = true
		wlog.Warn().Int("published_rows", len(job.Base.Rows)).
			Msg("re-fetch of a published window came back empty: not publishing a revision that would remove every DNIS")
	}
	return p, nil
}

// pendingIs reports whether p is the write-ahead record of job's window and
// revision.
func pendingIs(p *state.Pending, job Job) bool {
	return p != nil && p.Revision == job.Revision && p.WindowStart.Equal(job.Window.Start) && p.WindowEnd.Equal(job.Window.End)
}

// resume rebuilds the window of st's write-ahead record. A record whose
// rows this process let go once it was saved (see Commit) is read back
// from the store.
func (t *Transaction) resume(st state.State, job Job) (*Prepared, error) {
	skill := st.Key.SkillID
	p := st.Pending
	report := p.Report
	if report.Rows == nil && report.Rejected == nil {
		saved, found, err := t.deps.Store.Load(st.Key)
		if err != nil {
			return nil, &Error{Skill: skill, Window: job.Window, Step: StepLoad, Err: err}
		}
		if !found || !pendingIs(saved.Pending, job) || !saved.Pending.FetchedAt.Equal(p.FetchedAt) {
			return nil, &Error{Skill: skill, Window: job.Window, Step: StepLoad,
				Err: fmt.Errorf("the write-ahead record of this window is no longer in the state store: was the state changed by another process?")}
		}
		report = saved.Pending.Report
	}
	base, err := baseOf(st, p)
	var gone *BaseGoneError
	switch {
	case errors.As(err, &gone) && job.Revision == 0:
		// Compared with nothing, its events carry other ids than the first
		// time (the previous window is part of every id): no id gets two
		// contents, and the window is not lost.
		wlog := Logger(t.deps.Logger.With().Str("skill", skill).Logger(), job.Window)
		wlog.Error().Err(err).Msg("the window in flight at the last stop goes out compared with no previous window, under new event ids")
	case err != nil:
		return nil, &Error{Skill: skill, Window: job.Window, Step: StepLoad, Err: err}
	}
	job.Base = base
	return &Prepared{diff: t.diff, job: job, cur: t.windowOf(skill, job.Window, p.FetchedAt, report), resumed: true, next: nextOf(st, job)}, nil
}

// nextOf returns, for a revision, the stream's published window right
// after the revised one, which was compared with it (see snapshot.Follow);
// nil otherwise. It is read from the state the revision starts from, also
// when the revision goes out again from its record, so that it is the same.
func nextOf(st state.State, job Job) *snapshot.Snapshot {
	if job.Revision == 0 {
		return nil
	}
	for i := range st.Windows {
		if st.Windows[i].WindowStart.Equal(job.Window.End) {
			next := st.Windows[i]
			return &next
		}
	}
	return nil
}

// baseOf returns the snapshot the write-ahead record p of st was compared
// with. A record of a build before bases were kept compared a window with
// the stream's latest one when that one ended where it starts, and a
// revision with the revision before it.
func baseOf(st state.State, p *state.Pending) (*snapshot.Snapshot, error) {
	ref := p.Base
	if ref == nil {
		if p.Revision == 0 {
			if last, ok := st.Last(); ok && last.WindowEnd.Equal(p.WindowStart) {
				return &last, nil
			}
			return nil, nil
		}
		ref = &state.Base{Start: &p.WindowStart, Revision: p.Revision - 1}
	}
	switch {
	case ref.Snapshot != nil:
		return ref.Snapshot, nil
	case ref.Start == nil:
		return nil, nil
	}
	for i := range st.Windows {
		if snap := st.Windows[i]; snap.WindowStart.Equal(*ref.Start) && snap.Revision == ref.Revision {
			return &snap, nil
		}
	}
	return nil, &BaseGoneError{Start: *ref.Start, Revision: ref.Revision}
}

// BaseGoneError says that the snapshot a write-ahead record was compared
// with is no longer in the state, so the record cannot go out as it did.
type BaseGoneError struct {
	Start    time.Time
	Revision int
}

func (e *BaseGoneError) Error() string {
	return fmt.Sprintf("the snapshot the window in flight was compared with (window %s, revision %d) is no longer in the state",
		e.Start.Format(time.RFC3339), e.Revision)
}

// windowOf wraps an already pseudonymized report of w for the diff.
func (t *Transaction) windowOf(skill string, w Window, fetchedAt time.Time, report fetch.Report) snapshot.Window {
	return snapshot.Window{
		Operation:     t.deps.Operation,
		SkillID:       skill,
		Start:         w.Start.In(t.deps.Location),
		End:           w.End.In(t.deps.Location),
		FetchedAt:     fetchedAt.In(t.deps.Location),
		Producer:      t.deps.Producer,
		Hasher:        t.deps.Hasher,
		Report:        report,
		Pseudonymized: true,
	}
}
