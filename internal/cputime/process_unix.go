//go:build unix

package cputime

import (
	"fmt"
	"syscall"
	"time"
)

// Process returns the CPU time (user + system, all threads, the garbage
// collector's included) the process has used so far; an error where it
// cannot be read (outside unix).
func Process() (time.Duration, error) {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()), nil
}
