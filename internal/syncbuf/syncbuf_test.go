package syncbuf_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/skill6pub/skill6pub/internal/syncbuf"
)

func TestConcurrentWritesAllArrive(t *testing.T) {
	var b syncbuf.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x\n"))
			}
		})
	}
	wg.Wait()
	if b.Len() != 8*100*2 || strings.Count(b.String(), "x\n") != 800 || len(b.Bytes()) != b.Len() {
		t.Errorf("got %d bytes, %d lines", b.Len(), strings.Count(b.String(), "x\n"))
	}
}
