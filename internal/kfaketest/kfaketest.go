// Package kfaketest holds kfake controls shared by the producer's tests and
// the fault harness.
package kfaketest

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// StallProduce makes the next produce request wait, unanswered, until
// release is called or the cluster closes; later requests pass. stalled is
// closed once the request waits.
func StallProduce(c *kfake.Cluster) (stalled <-chan struct{}, release func()) {
	held, wake := make(chan struct{}), make(chan struct{})
	var once sync.Once
	first := true // control functions run one at a time
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		if first {
			first = false
			c.DropControl()
			close(held)
			c.SleepControl(func() { <-wake })
		}
		return nil, nil, false // then the cluster answers as usual
	})
	return held, func() { once.Do(func() { close(wake) }) }
}
