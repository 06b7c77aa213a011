package state

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrClosed is returned by Load and Save after Close.
var ErrClosed = errors.New("state: directory store is closed")

// CorruptError is returned by Load when a state file cannot be trusted: it is
// empty, truncated, not a state file, fails its checksum, or holds another
// key's state. The file is left as it is: replacing it would silently lose
// the position of the stream, so the operator decides.
type CorruptError struct {
	Path   string // the state file
	Reason string // what is wrong with it, for an operator
	Err    error  // the underlying decoding error, if any
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state: file %s is corrupt: %s. %s", e.Path, e.Reason, recoveryHint(e.Path))
}

func (e *CorruptError) Unwrap() error { return e.Err }

// VersionError is returned by Load when a state file has a format version
// this build does not read, typically because a newer skill6pub wrote it.
type VersionError struct {
	Path    string
	Version int // the version found in the file
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("state: file %s has format version %d and this build reads only version %d "+
		"(was it written by a newer skill6pub? then run that version). %s",
		e.Path, e.Version, FormatVersion, recoveryHint(e.Path))
}

// LockedError is returned by OpenDir when another Dir, in this process or in
// another one, holds the directory.
type LockedError struct {
	Dir string
	PID int // the holder's process id as it wrote it in the lock file; 0 if unknown
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID != 0 {
		holder = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("state: directory %s is in use by %s (lock file %s): "+
		"only one skill6pub may use a state directory at a time", e.Dir, holder, lockFileName)
}

func recoveryHint(path string) string {
	return fmt.Sprintf("To recover, move it aside (mv %q %q): the stream then starts fresh from the current window; "+
		"then run \"skill6pub backfill --from ... --to ...\" for the windows missed since it was last written",
		path, path+".bad")
}

// LostError is returned by Load and Save once the directory a Dir holds, or
// its lock file, has been removed or replaced while it was open: another
// process may now lock the new directory and publish from it, so this one
// must not write (or trust) a state there again. It is final: the process
// stops publishing and an operator decides which of the two goes on.
type LostError struct {
	Dir    string
	Reason string
}

func (e *LostError) Error() string {
	return fmt.Sprintf("state: directory %s was lost while this process held it (%s): "+
		"another process may be publishing from it now, so this one stops publishing to keep one publisher per state. "+
		"Find out who removed it; restore it from a backup or let the other process go on, then restart this one",
		e.Dir, e.Reason)
}
