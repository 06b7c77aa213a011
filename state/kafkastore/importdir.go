package kafkastore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skill6pub/skill6pub/state"
)

// Imported says what ImportDir did with one state file.
type Imported struct {
	Key  state.Key
	File string
	// Kept is true when the topic already held a state for Key: the
	// topic's is newer than any directory left behind, and stays.
	Kept bool
}

// ImportDir takes the states of a state directory (STATE_DIR) over into
// the topic, once: a key the topic holds no state for gets the directory's;
// a key it already holds is left alone. It locks the directory as
// state.OpenDir does, so a process still using it makes it fail, and it
// changes nothing in it: after an upgrade, run it at start (or from a
// command) and then move the directory aside. A file that cannot be read
// stops it with the directory store's error, which says how to recover.
func (s *Store) ImportDir(dir string) ([]Imported, error) {
	d, err := state.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("kafkastore: import %s: %w", dir, err)
	}
	var done []Imported
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".state") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return done, fmt.Errorf("kafkastore: import %s: %w", path, err)
		}
		// The key is inside the file; Load reads it again under the
		// directory's rules (the file must be the key's own).
		found, err := state.Decode(path, data)
		if err != nil {
			return done, err
		}
		st, _, err := d.Load(found.Key)
		if err != nil {
			return done, err
		}
		if _, held, err := s.Load(st.Key); err != nil {
			return done, err
		} else if held {
			done = append(done, Imported{Key: st.Key, File: path, Kept: true})
			continue
		}
		if err := s.Save(st); err != nil {
			return done, fmt.Errorf("kafkastore: import %s: %w", path, err)
		}
		done = append(done, Imported{Key: st.Key, File: path})
	}
	return done, nil
}
