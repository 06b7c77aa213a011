package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rs/zerolog"
)

// tempPrefix starts the name of a file being written. Such a file is only
// ever renamed into place complete, so one found at open time was left by
// an interrupted write and is removed.
const tempPrefix = ".tmp-"

// Dir is the embedded default store (STATE_DIR): a directory with one file
// per Key, written atomically, locked against a second user. Its methods are
// safe for concurrent use; Saves of different keys do not wait for each
// other, and concurrent Saves of one key leave one of them complete.
type Dir struct {
	path         string
	beforeRename func()
	log          zerolog.Logger

	mu   sync.RWMutex // read-held by Load and Save so that Close waits for them
	lock *os.File     // the held lock file; nil once closed

	gzips sync.Pool // *gzip.Writer reused by Save
}

// Option configures OpenDir.
type Option func(*Dir)

// WithBeforeRename sets a function that Save calls once the new file is
// written and synced under its temporary name, just before renaming it over
// the previous state. It exists for crash tests: a child process that exits
// in it has died in the middle of a state write. Default: none.
func WithBeforeRename(hook func()) Option {
	return func(d *Dir) { d.beforeRename = hook }
}

// WithLogger sets the logger for what OpenDir cleans up. Default: no logging.
func WithLogger(log zerolog.Logger) Option {
	return func(d *Dir) { d.log = log }
}

// OpenDir opens the state directory dir, creating it (mode 0700: snapshots
// hold phone numbers unless DNIS_HMAC_KEY is set) if it is missing, and locks
// it: while the returned Dir is open, any other OpenDir of the same directory,
// in this process or another, fails with a *LockedError. It removes temporary
// files left by a write that a crash interrupted. Close releases the lock.
func OpenDir(dir string, opts ...Option) (*Dir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("state: create directory: %w", err)
	}
	lock, err := lockDir(abs)
	if err != nil {
		return nil, err
	}
	d := &Dir{path: abs, log: zerolog.Nop(), lock: lock}
	for _, opt := range opts {
		opt(d)
	}
	if err := d.removeInterruptedWrites(); err != nil {
		_ = unlockDir(lock)
		return nil, err
	}
	return d, nil
}

// Path returns the file that holds key's state. The name is readable and
// distinct for every key:
//
//	live-<operation>-<skill>.state
//
// (Builds before every command shared this one record kept a backfill's
// state in job-<job>-<operation>-<skill>.state; such files are not read.)
//
// Each part keeps ASCII letters, digits, '_' and '.' and writes every other
// byte, '-' and '%' included, as %XX: operation "0032" and skill "skill 3"
// give live-0032-skill%203.state. A name over 200 bytes is cut to 150 and
// ends in '~' and a hash of the whole name. On a case-insensitive file
// system, keys that differ only in case would share a file; Load detects
// that from the key stored inside and reports the file as corrupt.
func (d *Dir) Path(key Key) string {
	return filepath.Join(d.path, fileName(key))
}

// Load returns key's state. found is false, with a nil error, when the key
// has no state yet. A file that cannot be trusted gives a *CorruptError or a
// *VersionError that names it and says how to recover; the file is left
// untouched. Window times come back at the instant and UTC offset they were
// saved with, in a fixed zone rather than the original *time.Location.
func (d *Dir) Load(key Key) (s State, found bool, err error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.lock == nil {
		return State{}, false, ErrClosed
	}
	if err := d.stillHeld(); err != nil {
		return State{}, false, err
	}
	path := d.Path(key)
	file, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		if info, statErr := os.Stat(path); statErr == nil && info.IsDir() {
			return State{}, false, fmt.Errorf("state: load: %s is a directory, where the state file of operation %q, skill %q belongs: "+
				"move it out of STATE_DIR (%s), then start again: %w", path, key.Operation, key.SkillID, d.path, err)
		}
		return State{}, false, fmt.Errorf("state: load %s: %w", path, err)
	}
	s, err = decodeState(path, file)
	if err != nil {
		return State{}, false, err
	}
	if s.Key != key {
		// A copied or renamed file, or two keys that differ only in case on
		// a case-insensitive file system.
		return State{}, false, &CorruptError{Path: path, Reason: fmt.Sprintf(
			"it holds the state of operation %q, skill %q",
			s.Key.Operation, s.Key.SkillID)}
	}
	return s, true, nil
}

// Save replaces s.Key's state with s atomically: after a crash at any point
// Load returns either the previous state or s, never a mixture. It returns
// once s is durable (file and directory synced).
func (d *Dir) Save(s State) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.lock == nil {
		return ErrClosed
	}
	if err := d.stillHeld(); err != nil {
		return err
	}
	path := d.Path(s.Key)
	tmp, err := os.CreateTemp(d.path, tempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("state: save %s: %w", path, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = tmp.Close() // may already be closed; the write error is what matters
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := encodeState(tmp, s, &d.gzips); err != nil {
		return fmt.Errorf("state: save %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("state: save %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state: save %s: %w", path, err)
	}
	if d.beforeRename != nil {
		d.beforeRename()
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("state: save %s: %w", path, err)
	}
	renamed = true
	// The rename is durable only once the directory entry is on disk.
	if err := syncDir(d.path); err != nil {
		return fmt.Errorf("state: save %s: sync directory: %w", path, err)
	}
	return nil
}

// Close releases the directory's lock, after any Load or Save in progress.
// Load and Save then return ErrClosed. Closing twice is harmless.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lock == nil {
		return nil
	}
	err := unlockDir(d.lock)
	d.lock = nil
	return err
}

// stillHeld checks that the lock file this Dir holds is still the one at its
// path: removing the directory, or its lock file, would let a second process
// lock a new one and publish from it beside this one. A check per Load and
// Save (one stat of each) is enough: the write-ahead record is saved before
// every publish, so a process that lost its directory publishes nothing more.
func (d *Dir) stillHeld() error {
	held, err := d.lock.Stat()
	if err != nil {
		return &LostError{Dir: d.path, Reason: "the held lock file cannot be read: " + err.Error()}
	}
	onDisk, err := os.Stat(filepath.Join(d.path, lockFileName))
	if err != nil {
		return &LostError{Dir: d.path, Reason: "its lock file is gone: " + err.Error()}
	}
	if !os.SameFile(held, onDisk) {
		return &LostError{Dir: d.path, Reason: "its lock file was replaced by another one"}
	}
	return nil
}

// removeInterruptedWrites deletes temporary files left by a Save that did not
// reach its rename. Holding the lock, no other writer can be using them.
func (d *Dir) removeInterruptedWrites() error {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("state: read directory: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		path := filepath.Join(d.path, e.Name())
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("state: remove a file left by an interrupted write: %w", err)
		}
		d.log.Warn().Str("file", path).Msg("removed a state file left unfinished by an interrupted write")
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	syncErr := f.Sync()
	closeErr := f.Close()
	return errors.Join(syncErr, closeErr)
}
