package clock

import (
	"context"
	"testing"
	"time"
)

var epoch = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestFakeWakesSleeperOnAdvance(t *testing.T) {
	f := NewFake(epoch)
	done := make(chan error, 1)
	go func() { done <- f.Sleep(context.Background(), time.Minute) }()
	if err := f.WaitForSleepers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(59 * time.Second)
	select {
	case <-done:
		t.Fatal("woke before its deadline")
	default:
	}
	f.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Sleep: %v", err)
	}
	if got := f.Now(); !got.Equal(epoch.Add(time.Minute)) {
		t.Fatalf("Now = %v", got)
	}
}

func TestFakeSleepEndsWithContext(t *testing.T) {
	f := NewFake(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Sleep(ctx, time.Hour) }()
	if err := f.WaitForSleepers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Sleep = %v, want context.Canceled", err)
	}
	if _, ok := f.NextWake(); ok {
		t.Fatal("a cancelled sleeper is still registered")
	}
}

func TestAutoFakeAdvancesToEachDeadline(t *testing.T) {
	f := NewAutoFake(epoch)
	for range 288 {
		if err := f.Sleep(context.Background(), 5*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.Now(); !got.Equal(epoch.Add(24 * time.Hour)) {
		t.Fatalf("Now = %v, want a day later", got)
	}
}

func TestAcceleratedRunsFaster(t *testing.T) {
	a := &Accelerated{Origin: epoch, Start: time.Now().Add(-time.Second), Factor: 60}
	if got := a.Now().Sub(epoch); got < time.Minute {
		t.Fatalf("one wall second at x60 moved %v, want at least a minute", got)
	}
}
