package kafkastore

import (
	"cmp"
	"fmt"
	"slices"
)

// view is what the state topic says, as far as it has been read. It applies
// records in the topic's order, and every reader of the same records comes
// to the same view: that is what makes the first of two racing saves win
// for everyone.
type view struct {
	topic   string
	chunks  map[string][]byte  // live chunk values by record key
	streams map[string]*stream // by streamKey
	next    int64              // the offset of the next record to read
}

// stream is one state.Key's saves.
type stream struct {
	saves   map[string]*save // live manifests by save id
	current *save            // nil: no state
	// unreadable is set when the last manifest read for the stream did not
	// decode, so that Load reports it instead of an older state.
	unreadable *CorruptError
}

// save is one manifest read from the topic.
type save struct {
	manifest
	stream string
	offset int64
	// lost is set when its base was not the stream's current save when it
	// was read: it is ignored, and tombstoned.
	lost bool
}

func newView(topic string, first int64) view {
	return view{topic: topic, chunks: map[string][]byte{}, streams: map[string]*stream{}, next: first}
}

func (v *view) stream(key string) *stream {
	st := v.streams[key]
	if st == nil {
		st = &stream{saves: map[string]*save{}}
		v.streams[key] = st
	}
	return st
}

// apply takes in one record; value is nil for a tombstone. It returns the
// save a manifest record introduced, nil for any other record.
func (v *view) apply(offset int64, key string, value []byte) *save {
	v.next = offset + 1
	k, ok := parseRecordKey(key)
	if !ok {
		return nil // not ours: the topic may be shared with nothing else, but skip rather than fail
	}
	if k.chunk >= 0 {
		if value == nil {
			delete(v.chunks, key)
		} else {
			v.chunks[key] = value
		}
		return nil
	}
	st := v.stream(k.stream)
	if value == nil {
		delete(st.saves, k.save)
		if st.current != nil && st.current.Save == k.save {
			// Only an operator removes the current save (CorruptError
			// says how): the stream starts afresh.
			st.current = nil
		}
		return nil
	}
	if _, dup := st.saves[k.save]; dup {
		return nil // a retried write of a manifest already read: the first one counts
	}
	m, err := decodeManifest(value)
	if err != nil {
		st.unreadable = &CorruptError{Topic: v.topic, Save: k.save, Offset: offset, Reason: "its manifest does not decode", Err: err}
		return nil
	}
	if streamKey(m.stateKey()) != k.stream || m.Save != k.save {
		st.unreadable = &CorruptError{Topic: v.topic, Key: m.stateKey(), Save: k.save, Offset: offset,
			Reason: fmt.Sprintf("its manifest, under record key %q, names save %q of another key", key, m.Save)}
		return nil
	}
	s := &save{manifest: m, stream: k.stream, offset: offset}
	if st.current == nil || m.Base == st.current.Save {
		st.current = s
		st.unreadable = nil
	} else {
		s.lost = true
	}
	st.saves[k.save] = s
	return s
}

// stateBytes returns the state file of s, assembled from its chunks.
func (v *view) stateBytes(s *save) ([]byte, error) {
	corrupt := func(reason string) error {
		return &CorruptError{Topic: v.topic, Key: s.stateKey(), Save: s.Save, Offset: s.offset, Reason: reason}
	}
	data := make([]byte, 0, s.Bytes)
	for i := range s.Chunks {
		chunk, ok := v.chunks[chunkKey(s.stream, s.Save, i)]
		if !ok {
			return nil, corrupt(fmt.Sprintf("chunk %d of %d is missing", i, s.Chunks))
		}
		data = append(data, chunk...)
	}
	if len(data) != s.Bytes {
		return nil, corrupt(fmt.Sprintf("its chunks hold %d bytes, and its manifest says %d", len(data), s.Bytes))
	}
	return data, nil
}

// replaced returns the saves that the current save s makes obsolete: the
// losing saves before it, then the saves it replaced, each in the topic's
// order. Tombstoned in that order, a reader of a compacted topic never meets
// a losing save before the current one.
func (v *view) replaced(s *save) []*save {
	var lost, old []*save
	for _, o := range v.streams[s.stream].saves {
		switch {
		case o.offset >= s.offset:
		case o.lost:
			lost = append(lost, o)
		default:
			old = append(old, o)
		}
	}
	byOffset := func(a, b *save) int { return cmp.Compare(a.offset, b.offset) }
	slices.SortFunc(lost, byOffset)
	slices.SortFunc(old, byOffset)
	return append(lost, old...)
}

// tombstoneKeys are the record keys that remove s: its manifest first, so
// that no reader holds a manifest whose chunks are gone.
func tombstoneKeys(stream, save string, chunks int) []string {
	keys := []string{manifestKey(stream, save)}
	for i := range chunks {
		keys = append(keys, chunkKey(stream, save, i))
	}
	return keys
}
