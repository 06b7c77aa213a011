package state

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFileName is the file in the state directory that a Dir holds an
// exclusive flock(2) on while it is open. The lock goes away with the
// process, so a crash never leaves the directory locked; the file itself
// stays (deleting it would let two processes lock two different inodes).
const lockFileName = ".lock"

// lockDir takes the directory's lock without waiting and writes this
// process's id into the lock file so that a refused opener can name the
// holder. flock locks belong to the open file description, so a second
// lockDir in the same process is refused too.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid := readHolderPID(f)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("state: lock %s: %w", path, err)
	}
	if err := writeHolderPID(f, os.Getpid()); err != nil {
		_ = f.Close() // closing releases the lock
		return nil, fmt.Errorf("state: write lock file %s: %w", path, err)
	}
	return f, nil
}

// unlockDir clears the holder's id and releases the lock.
func unlockDir(f *os.File) error {
	truncErr := f.Truncate(0)
	if err := f.Close(); err != nil { // closing the descriptor releases the flock
		return fmt.Errorf("state: release lock: %w", err)
	}
	if truncErr != nil {
		return fmt.Errorf("state: clear lock file: %w", truncErr)
	}
	return nil
}

func writeHolderPID(f *os.File, pid int) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(pid)+"\n"), 0)
	return err
}

// readHolderPID returns the id the holder wrote, or 0 when the file is empty
// or unreadable (the holder may not have written it yet).
func readHolderPID(f *os.File) int {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
