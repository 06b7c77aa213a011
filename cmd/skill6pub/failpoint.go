package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/scheduler"
)

// The points where SKILL6PUB_FAILPOINT can stop the process.
const (
	// failpointFetch: a wolkvox request is in flight (its answer's headers
	// arrived, its body is not read).
	failpointFetch = "fetch"
	// failpointAfterPublish: a window is acknowledged by Kafka, its state
	// not yet committed.
	failpointAfterPublish = scheduler.FailpointAfterPublish
	// failpointStateWrite: a state file is written and synced under its
	// temporary name, not yet renamed into place.
	failpointStateWrite = "state-write"
)

// failpoint kills the process with SIGKILL the nth time it reaches the
// named point, or freezes it there with SIGSTOP (as a long pause would,
// until a SIGCONT). Crash tests run the real binary with
// SKILL6PUB_FAILPOINT to stop it exactly where a crash hurts most; nothing
// else sets it. A nil *failpoint does nothing.
type failpoint struct {
	name   string
	at     int64
	freeze bool
	hits   atomic.Int64
	log    zerolog.Logger
}

// parseFailpoint reads SKILL6PUB_FAILPOINT: NAME, NAME:N (N from 1) or
// NAME:N:stop. An empty spec is no failpoint.
func parseFailpoint(spec string, log zerolog.Logger) (*failpoint, error) {
	if spec == "" {
		return nil, nil
	}
	spec, freeze := strings.CutSuffix(spec, ":stop")
	name, count, counted := strings.Cut(spec, ":")
	fp := &failpoint{name: name, at: 1, freeze: freeze, log: log}
	switch name {
	case failpointFetch, failpointAfterPublish, failpointStateWrite:
	default:
		return nil, fmt.Errorf("SKILL6PUB_FAILPOINT=%q: want %s, %s or %s, optionally followed by :N, and :stop to freeze rather than kill (tests only)",
			spec, failpointFetch, failpointAfterPublish, failpointStateWrite)
	}
	if counted {
		n, err := strconv.ParseInt(count, 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("SKILL6PUB_FAILPOINT=%q: N must be a whole number from 1", spec)
		}
		fp.at = n
	}
	return fp, nil
}

// hit counts one passage through the point called name and kills the
// process at the chosen one.
func (f *failpoint) hit(name string) {
	if f == nil || name != f.name || f.hits.Add(1) != f.at {
		return
	}
	if f.freeze {
		f.log.Error().Str("failpoint", name).Int64("hit", f.at).Msg("failpoint reached: freezing the process with SIGSTOP until SIGCONT (SKILL6PUB_FAILPOINT)")
		_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
		return
	}
	f.log.Error().Str("failpoint", name).Int64("hit", f.at).Msg("failpoint reached: killing the process with SIGKILL (SKILL6PUB_FAILPOINT)")
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL cannot be caught: nothing runs after it
}

// hook returns hit for scheduler.Deps.Failpoint, nil when there is no
// failpoint.
func (f *failpoint) hook() func(string) {
	if f == nil {
		return nil
	}
	return f.hit
}

// roundTripper passes requests to next and reaches the fetch point once the
// answer's headers are in and its body is still to be read.
func (f *failpoint) roundTripper(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		f.hit(failpointFetch)
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (fn roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return fn(req) }
