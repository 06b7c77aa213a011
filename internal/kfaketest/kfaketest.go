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

// ProduceError answers a produce request with code for every partition it
// writes to, as a broker that refuses the write does.
func ProduceError(req kmsg.Request, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, t := range req.(*kmsg.ProduceRequest).Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
