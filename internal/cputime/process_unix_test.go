//go:build unix

package cputime_test

import (
	"testing"

	"github.com/skill6pub/skill6pub/internal/cputime"
)

// TestProcessGrowsWithWork spins until the CPU time read changes, which
// work (not sleeping) must make it do within a bounded number of rounds.
func TestProcessGrowsWithWork(t *testing.T) {
	before, err := cputime.Process()
	if err != nil {
		t.Fatal(err)
	}
	after := before
	var sum uint64
	for round := 0; round < 10_000 && after == before; round++ {
		for i := range uint64(100_000) { // about 0.1 ms of work per round
			sum += i * i
		}
		if after, err = cputime.Process(); err != nil {
			t.Fatal(err)
		}
		if after < before {
			t.Fatalf("CPU time went back from %v to %v", before, after)
		}
	}
	if after <= before {
		t.Fatalf("CPU time still %v after 10,000 rounds of work (sum %d)", after, sum)
	}
}
