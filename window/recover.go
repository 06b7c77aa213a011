package window

import (
	"context"
	"errors"

	"github.com/skill6pub/skill6pub/state"
)

// Recover publishes the window in flight of st, if any: the write-ahead
// record left by a process that stopped between saving it and committing.
// Every command recovers it first, before anything after it and whether or
// not it now lies in a gap: it may already be in Kafka, and only the record
// has its content. A revision whose base is gone from the state (or made
// under another DNIS_HMAC_KEY) is dropped instead, with a warning: the next
// revision pass fetches the window again under a higher revision.
func (t *Transaction) Recover(ctx context.Context, st state.State) (state.State, Result, error) {
	p := st.Pending
	if p == nil {
		return st, Result{}, nil
	}
	job := Job{Window: Window{Start: p.WindowStart.In(t.deps.Location), End: p.WindowEnd.In(t.deps.Location)}, Revision: p.Revision}
	wlog := Logger(t.deps.Logger.With().Str("skill", st.Key.SkillID).Logger(), job.Window)
	base, err := baseOf(st, p)
	var gone *BaseGoneError
	if p.Revision > 0 && (errors.As(err, &gone) || p.DNISKeyID != t.deps.Hasher.KeyID()) {
		wlog.Warn().Int("revision", p.Revision).
			Msg("the revision in flight at the last stop no longer matches the stored windows (or DNIS_HMAC_KEY changed): it is dropped; the next revision pass fetches the window again")
		dropped := st
		dropped.Pending = nil
		if err := t.deps.Store.Save(dropped); err != nil {
			return st, Result{Window: job.Window, Revision: job.Revision}, &Error{Skill: st.Key.SkillID, Window: job.Window, Step: StepSave, Err: err}
		}
		return dropped, Result{Window: job.Window, Revision: job.Revision}, nil
	}
	job.Base = base // for a fetch again under another key; a resume takes the record's
	what := "window"
	if p.Revision > 0 {
		what = "revision"
	}
	wlog.Info().Int("revision", p.Revision).Time("fetched_at", p.FetchedAt).
		Msgf("resuming the %s in flight at the last stop, before anything else: it goes out again exactly as before (same event ids and payloads), from its write-ahead record", what)
	return t.Run(ctx, st, job)
}
