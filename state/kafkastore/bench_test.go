package kafkastore_test

import (
	"fmt"
	"testing"

	"github.com/skill6pub/skill6pub/state"
)

// BenchmarkSave measures a Save on kfake, from the encoding to its manifest
// read back and the tombstones of the save it replaces: "commit" is a state
// of one window of n rows, "write-ahead" the same with the write-ahead
// record of the next window, n rows more, beside it (what the window
// transaction saves before it publishes). "load" is a Load of the
// write-ahead state.
func BenchmarkSave(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		c := newCluster(b)
		s := open(b, testConfig(c, "bench"))
		if _, _, err := s.Load(liveKey); err != nil {
			b.Fatal(err)
		}
		commit := committed(0, n)
		ahead := withPending(commit, n, 1)
		for _, tc := range []struct {
			name string
			st   state.State
		}{{"commit", commit}, {"write-ahead", ahead}} {
			b.Run(fmt.Sprintf("%s/rows=%d", tc.name, n), func(b *testing.B) {
				b.SetBytes(int64(len(encoded(b, tc.st))))
				for b.Loop() {
					if err := s.Save(tc.st); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(fmt.Sprintf("load/rows=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.Load(liveKey); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
