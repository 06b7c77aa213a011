//go:build !unix

package state

import "time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
