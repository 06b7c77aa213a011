package kafkastore_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skill6pub/skill6pub/internal/kfaketest"
	"github.com/skill6pub/skill6pub/state"
	"github.com/skill6pub/skill6pub/state/kafkastore"
)

func TestLoadWithoutStateIsNotFound(t *testing.T) {
	s := open(t, testConfig(newCluster(t), "a"))
	if _, found, err := s.Load(liveKey); err != nil || found {
		t.Fatalf("Load of an empty topic: found %v, error %v", found, err)
	}
}

// TestSaveIsReadBackByAnotherProcess saves two states and opens a second
// store on the topic, as a restarted or another replica would: it reads the
// topic to its end at open and finds the last state. The topic, read with
// franz-go, holds the chunks then the manifest under operation/skill
// keys, and the first save's records are tombstoned.
func TestSaveIsReadBackByAnotherProcess(t *testing.T) {
	c := newCluster(t)
	a := open(t, testConfig(c, "a"))
	if _, _, err := a.Load(liveKey); err != nil {
		t.Fatal(err)
	}
	mustSave(t, a, committed(0, 10))
	want := withPending(committed(1, 20), 30, 1)
	mustSave(t, a, want)
	assertSameState(t, "the writer's Load", mustLoad(t, a, liveKey), want)

	b := open(t, testConfig(c, "b"))
	assertSameState(t, "a second store's Load", mustLoad(t, b, liveKey), want)

	recs := readTopic(t, c)
	live := map[string][]byte{}
	var manifests []map[string]any
	for _, r := range recs {
		if !strings.HasPrefix(string(r.Key), "0032/3#") {
			t.Errorf("record key %q does not start with operation/skill/job", r.Key)
		}
		if r.Value == nil {
			delete(live, string(r.Key))
			continue
		}
		live[string(r.Key)] = r.Value
		if strings.Count(string(r.Key), "#") == 1 {
			var m map[string]any
			if err := json.Unmarshal(r.Value, &m); err != nil {
				t.Fatal(err)
			}
			manifests = append(manifests, m)
		}
	}
	if len(manifests) != 2 {
		t.Fatalf("%d manifests in the topic, want 2", len(manifests))
	}
	last := manifests[1]
	if last["instance"] != "a" || last["base"] != manifests[0]["save"] || last["pending"] == nil {
		t.Errorf("second manifest = %v: want instance a, the first save as its base, and its pending window", last)
	}
	if len(live) != 2 { // the second save's manifest and its one chunk
		t.Errorf("%d live records after two saves, want 2 (the first save tombstoned): %v", len(live), keysOf(live))
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestLargeStateIsChunked saves a 100,000-row window with its 100,000-row
// write-ahead record: far more than one record may hold. It is cut into
// chunks no larger than ChunkBytes, and read back whole by another store.
func TestLargeStateIsChunked(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c, "a")
	a := open(t, cfg)
	want := withPending(committed(0, 100_000), 100_000, 9)
	mustSave(t, a, want)

	chunks := 0
	for _, r := range readTopic(t, c) {
		if strings.Count(string(r.Key), "#") == 2 && r.Value != nil {
			chunks++
			if len(r.Value) > 512<<10 {
				t.Errorf("chunk %s holds %d bytes, more than ChunkBytes", r.Key, len(r.Value))
			}
		}
	}
	if chunks < 2 {
		t.Fatalf("%d chunks, want the state cut in several", chunks)
	}
	assertSameState(t, "a second store's Load", mustLoad(t, open(t, testConfig(c, "b")), liveKey), want)
}

// TestManifestAloneMakesAStateCurrent plays a writer that died after its
// chunks and before its manifest: readers keep the previous state. A
// manifest that names a chunk that is not there is reported, not half read.
func TestManifestAloneMakesAStateCurrent(t *testing.T) {
	c := newCluster(t)
	a, want := openSaved(t, c)
	produce(t, c, &kgo.Record{Key: []byte("0032/3#deadbeef#0"), Value: []byte("the first chunk of a save never finished")})
	catchUp(t, a)
	assertSameState(t, "Load after orphan chunks", mustLoad(t, a, liveKey), want)

	var base string
	for _, r := range readTopic(t, c) {
		if strings.Count(string(r.Key), "#") == 1 && r.Value != nil {
			base = strings.SplitN(string(r.Key), "#", 2)[1]
		}
	}
	manifest, err := json.Marshal(map[string]any{
		"format": "skill6pub-state-manifest", "version": 1,
		"key":  map[string]string{"operation": "0032", "skill_id": "3", "job": ""},
		"save": "cafe", "base": base, "instance": "x", "chunks": 2, "bytes": 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	produce(t, c, &kgo.Record{Key: []byte("0032/3#cafe#0"), Value: []byte("12345")},
		&kgo.Record{Key: []byte("0032/3#cafe"), Value: manifest})
	catchUp(t, a)
	_, _, err = a.Load(liveKey)
	var corrupt *kafkastore.CorruptError
	if !errors.As(err, &corrupt) || !strings.Contains(err.Error(), "chunk 1 of 2 is missing") {
		t.Fatalf("Load of a manifest missing a chunk: %v, want a *CorruptError naming the chunk", err)
	}
}

// TestReplacedSavesAreCompactedAway saves several times, compacts the topic
// as the broker's log cleaner would, and opens a fresh store on what is
// left: only the last save's records remain, and they are the last state.
func TestReplacedSavesAreCompactedAway(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c, "a")
	cfg.ChunkBytes = 8 << 10
	a := open(t, cfg)
	if _, _, err := a.Load(liveKey); err != nil {
		t.Fatal(err)
	}
	var want state.State
	for seq := range 4 {
		want = committed(seq, 500)
		mustSave(t, a, want)
	}
	if n := compactedSaves(t, c, a); n != 1 {
		t.Errorf("records of %d saves left after compaction, want only the last one's", n)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	assertSameState(t, "a fresh store's Load after compaction", mustLoad(t, open(t, testConfig(c, "b")), liveKey), want)
}

func TestClosedStoreRefusesWork(t *testing.T) {
	s := open(t, testConfig(newCluster(t), "a"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(liveKey); !errors.Is(err, kafkastore.ErrClosed) {
		t.Errorf("Load after Close: %v", err)
	}
	if err := s.Save(committed(0, 1)); !errors.Is(err, kafkastore.ErrClosed) {
		t.Errorf("Save after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestFailedSaveKeepsThePreviousState: the broker refuses the writes for
// good; Save says so, the previous state stays current for every reader,
// and the next Save, once the broker accepts writes again, goes through.
func TestFailedSaveKeepsThePreviousState(t *testing.T) {
	c := newCluster(t)
	a, want := openSaved(t, c)
	var refusing atomic.Bool
	refusing.Store(true)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !refusing.Load() {
			return nil, nil, false
		}
		return kfaketest.ProduceError(req, kerr.TopicAuthorizationFailed.Code), nil, true
	})
	err := a.Save(committed(1, 10))
	if err == nil || !strings.Contains(err.Error(), "the previous state stays current") || !errors.Is(err, kafka.TopicAuthorizationFailed) {
		t.Fatalf("Save with writes refused: %v", err)
	}
	assertSameState(t, "Load after the failed save", mustLoad(t, a, liveKey), want)
	refusing.Store(false)
	next := committed(1, 10)
	mustSave(t, a, next)
	assertSameState(t, "a fresh reader", mustLoad(t, open(t, testConfig(c, "b")), liveKey), next)
}

// TestSavesOfDifferentKeysRunTogether: the records of several skills save
// at the same time through one store; each is kept, and each key's state is
// its own.
func TestSavesOfDifferentKeysRunTogether(t *testing.T) {
	c := newCluster(t)
	a := open(t, testConfig(c, "a"))
	want := map[string]state.State{}
	for _, skill := range []string{"3", "7", "12", "15"} {
		st := committed(len(want), 200)
		st.Key.SkillID = skill
		want[skill] = st
		if _, _, err := a.Load(st.Key); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(want))
	for _, st := range want {
		wg.Go(func() { errs <- a.Save(st) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b := open(t, testConfig(c, "b"))
	for _, st := range want {
		assertSameState(t, "skill "+st.Key.SkillID, mustLoad(t, b, st.Key), st)
	}
}
