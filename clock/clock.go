// Package clock is the time source of skill6pub. Code that waits (backoff,
// the scheduler's due times) takes a Clock so that tests run days of windows
// in milliseconds and the demo runs on an accelerated clock.
package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or returns ctx.Err() as soon as ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx ends.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Accelerated runs Factor times faster than the wall clock from Origin on:
// the demo uses it to show an hour of five-minute windows in a minute.
type Accelerated struct {
	Origin time.Time // virtual time at Start
	Start  time.Time // wall time at which virtual time was Origin
	Factor float64
}

// NewAccelerated starts a clock at origin that runs factor times faster than
// the wall clock.
func NewAccelerated(origin time.Time, factor float64) *Accelerated {
	return &Accelerated{Origin: origin, Start: time.Now(), Factor: factor}
}

// Now returns the virtual time.
func (a *Accelerated) Now() time.Time {
	return a.Origin.Add(time.Duration(float64(time.Since(a.Start)) * a.Factor))
}

// Sleep waits for d of virtual time.
func (a *Accelerated) Sleep(ctx context.Context, d time.Duration) error {
	return Real{}.Sleep(ctx, time.Duration(float64(d)/a.Factor))
}

// Fake is a clock that moves only when told. Sleepers wake when Advance or
// Set passes their deadline. With AutoAdvance, a Sleep moves the clock to its
// own deadline at once, so a loop of waits runs without any real waiting.
type Fake struct {
	mu       sync.Mutex
	now      time.Time
	auto     bool
	sleepers []*sleeper
	changed  chan struct{} // closed and replaced whenever sleepers change
}

type sleeper struct {
	until time.Time
	wake  chan struct{}
}

// NewFake returns a fake clock set to now.
func NewFake(now time.Time) *Fake {
	return &Fake{now: now, changed: make(chan struct{})}
}

// NewAutoFake returns a fake clock that advances to each sleeper's deadline
// as soon as it sleeps.
func NewAutoFake(now time.Time) *Fake {
	f := NewFake(now)
	f.auto = true
	return f
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Sleep waits until the fake time has moved d past now, or ctx ends.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	f.mu.Lock()
	if f.auto {
		f.setLocked(f.now.Add(d))
		f.mu.Unlock()
		return nil
	}
	s := &sleeper{until: f.now.Add(d), wake: make(chan struct{})}
	f.sleepers = append(f.sleepers, s)
	f.notifyLocked()
	f.mu.Unlock()
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		f.removeLocked(s)
		f.mu.Unlock()
		return ctx.Err()
	}
}

// Advance moves the clock forward by d, waking the sleepers it passes.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(f.now.Add(d))
}

// Set moves the clock to t (never backwards), waking the sleepers it passes.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.setLocked(t)
	}
}

// WaitForSleepers blocks until at least n goroutines sleep on the clock or
// ctx ends. Tests call it before Advance so that a sleeper is not missed.
func (f *Fake) WaitForSleepers(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		count, changed := len(f.sleepers), f.changed
		f.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// NextWake returns the earliest sleeper's deadline, if any sleeps.
func (f *Fake) NextWake() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sleepers) == 0 {
		return time.Time{}, false
	}
	sort.Slice(f.sleepers, func(i, j int) bool { return f.sleepers[i].until.Before(f.sleepers[j].until) })
	return f.sleepers[0].until, true
}

func (f *Fake) setLocked(t time.Time) {
	f.now = t
	kept := f.sleepers[:0]
	for _, s := range f.sleepers {
		if s.until.After(t) {
			kept = append(kept, s)
			continue
		}
		close(s.wake)
	}
	f.sleepers = kept
	f.notifyLocked()
}

func (f *Fake) removeLocked(s *sleeper) {
	for i, o := range f.sleepers {
		if o == s {
			f.sleepers = append(f.sleepers[:i], f.sleepers[i+1:]...)
			break
		}
	}
	f.notifyLocked()
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}
