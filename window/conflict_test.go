package window

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/state"
)

// A window fetched before the state was loaded again, which now holds
// another process's write-ahead record of that very window: that record is
// the window's content. The fetch is neither saved nor published, and the
// error says to go on from the record.
func TestAFetchNeverReplacesAnotherRecordOfItsWindow(t *testing.T) {
	f := newFixture(t)
	p, err := f.tx.Prepare(context.Background(), f.st, Job{Window: f.w})
	if err != nil {
		t.Fatal(err)
	}
	theirs := f.st
	theirs.Pending = &state.Pending{WindowStart: f.w.Start, WindowEnd: f.w.End, FetchedAt: f.w.End.Add(-time.Second)}

	_, err = f.tx.Commit(context.Background(), theirs, p)
	var superseded *SupersededError
	if !errors.As(err, &superseded) || !Conflict(err) || !SameConflictWindow(err) {
		t.Fatalf("Commit over another record of the window: %v, want a *SupersededError that is a Conflict in the same window", err)
	}
	if len(f.pub.records) != 0 || len(f.store.saves) != 0 {
		t.Errorf("%d publishes and %d saves of a fetch that lost to another record", len(f.pub.records), len(f.store.saves))
	}

}
