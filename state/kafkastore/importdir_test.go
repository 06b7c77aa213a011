package kafkastore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/skill6pub/skill6pub/state"
)

// TestImportDirTakesOverOnce: after an upgrade, the states of STATE_DIR go
// into the topic, except where the topic already holds one; a second import
// changes nothing, and a directory still in use is refused.
func TestImportDirTakesOverOnce(t *testing.T) {
	c := newCluster(t)
	a := open(t, testConfig(c, "a"))
	dir := t.TempDir()
	d, err := state.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	live, other := withPending(committed(3, 20), 20, 1), committed(5, 20)
	other.Key.SkillID = "5"
	inTopic := committed(9, 20)
	inTopic.Key.SkillID = "4"
	stale := committed(1, 20)
	stale.Key.SkillID = "4"
	for _, st := range []state.State{live, other, stale} {
		if err := d.Save(st); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := a.Load(inTopic.Key); err != nil {
		t.Fatal(err)
	}
	mustSave(t, a, inTopic)

	if _, err := a.ImportDir(dir); err == nil {
		t.Fatal("ImportDir of a directory another store holds: no error")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	done, err := a.ImportDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[state.Key]bool{}
	for _, im := range done {
		kept[im.Key] = im.Kept
	}
	if len(done) != 3 || kept[live.Key] || kept[other.Key] || !kept[inTopic.Key] {
		t.Fatalf("imported %+v: want both skills states of the directory imported, skill 4's kept from the topic", done)
	}
	b := open(t, testConfig(c, "b"))
	for _, want := range []state.State{live, other, inTopic} {
		assertSameState(t, "after the import", mustLoad(t, b, want.Key), want)
	}
	again, err := b.ImportDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range again {
		if !im.Kept {
			t.Errorf("a second import imported %+v again", im.Key)
		}
	}
}

func TestImportDirStopsAtACorruptFile(t *testing.T) {
	a := open(t, testConfig(newCluster(t), "a"))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "live-0032-3.state"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := a.ImportDir(dir)
	var corrupt *state.CorruptError
	if !errors.As(err, &corrupt) {
		t.Fatalf("ImportDir of a corrupt file: %v, want the directory store's *CorruptError", err)
	}
}
