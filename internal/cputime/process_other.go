//go:build !unix

package cputime

import (
	"errors"
	"fmt"
	"time"
)

// Process returns the CPU time (user + system, all threads, the garbage
// collector's included) the process has used so far; an error where it
// cannot be read (outside unix).
func Process() (time.Duration, error) {
	return 0, fmt.Errorf("process CPU time is read with getrusage, which this system lacks: %w", errors.ErrUnsupported)
}
