package kafkastore

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/skill6pub/skill6pub/state"
)

// streamKey is the part of every record key that names key:
// operation/skill, each part path-escaped so that none holds '/' or '#'.
func streamKey(key state.Key) string {
	return url.PathEscape(key.Operation) + "/" + url.PathEscape(key.SkillID)
}

func manifestKey(stream, save string) string { return stream + "#" + save }

func chunkKey(stream, save string, i int) string { return stream + "#" + save + "#" + strconv.Itoa(i) }

// recordKey is a record key taken apart: chunk is -1 for a manifest.
type recordKey struct {
	stream, save string
	chunk        int
}

// parseRecordKey takes apart a key written by this package; ok is false for
// any other key, which readers skip.
func parseRecordKey(k string) (recordKey, bool) {
	parts := strings.Split(k, "#")
	switch {
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return recordKey{stream: parts[0], save: parts[1], chunk: -1}, true
	case len(parts) == 3 && parts[0] != "" && parts[1] != "":
		i, err := strconv.Atoi(parts[2])
		if err != nil || i < 0 {
			return recordKey{}, false
		}
		return recordKey{stream: parts[0], save: parts[1], chunk: i}, true
	}
	return recordKey{}, false
}

const (
	manifestFormat  = "skill6pub-state-manifest"
	manifestVersion = 1
)

// manifest is the value of a manifest record.
type manifest struct {
	Format   string         `json:"format"`
	Version  int            `json:"version"`
	Key      manifestStream `json:"key"`
	Save     string         `json:"save"`
	Base     string         `json:"base"` // "" when the writer knew no save of the key
	Instance string         `json:"instance"`
	Chunks   int            `json:"chunks"`
	Bytes    int            `json:"bytes"`
	// Pending is the write-ahead record's window, so that a conflict says
	// which window it was about without decoding the state.
	Pending *manifestWindow `json:"pending,omitempty"`
	SavedAt time.Time       `json:"saved_at"`
}

type manifestStream struct {
	Operation string `json:"operation"`
	SkillID   string `json:"skill_id"`
}

type manifestWindow struct {
	Start    time.Time `json:"window_start"`
	End      time.Time `json:"window_end"`
	Revision int       `json:"revision"`
}

func (m manifest) stateKey() state.Key {
	return state.Key{Operation: m.Key.Operation, SkillID: m.Key.SkillID}
}

func decodeManifest(value []byte) (manifest, error) {
	var m manifest
	if err := json.Unmarshal(value, &m); err != nil {
		return m, err
	}
	if m.Format != manifestFormat {
		return m, fmt.Errorf("format %q, not %q", m.Format, manifestFormat)
	}
	if m.Version != manifestVersion {
		return m, fmt.Errorf("version %d: this build reads version %d (written by a newer skill6pub?)", m.Version, manifestVersion)
	}
	if m.Chunks < 1 || m.Bytes < 0 {
		return m, fmt.Errorf("%d chunks of %d bytes", m.Chunks, m.Bytes)
	}
	return m, nil
}

// recordBytes reads a fetched record's key and value; value is nil for a
// tombstone.
func recordBytes(r *kafka.Record) (key string, value []byte, err error) {
	k, err := kafka.ReadAll(r.Key)
	if err != nil {
		return "", nil, err
	}
	if r.Value == nil {
		return string(k), nil, nil
	}
	v, err := kafka.ReadAll(r.Value)
	if err != nil {
		return "", nil, err
	}
	if v == nil {
		v = []byte{} // an empty value is not a tombstone
	}
	return string(k), v, nil
}
