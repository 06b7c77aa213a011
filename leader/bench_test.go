package leader_test

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/leader"
)

// BenchmarkTakeover measures, with the default session timeout and
// heartbeat interval, how long a standby takes to become active after the
// active member stops cleanly (SIGTERM: Run's context ends and it leaves the
// group) and after it is cut off without leaving (SIGKILL, a frozen process,
// a split: its session has to time out). Each iteration starts two fresh
// members in a group of their own and waits until one is active and the
// other stands by. Run with -benchtime=10x; it reports the median and the
// worst iteration.
func BenchmarkTakeover(b *testing.B) {
	for _, tc := range []struct {
		name string
		end  func(*testing.B, *member)
	}{
		{"clean-leave", func(b *testing.B, m *member) { m.cancel() }},
		{"lost-session", func(b *testing.B, m *member) { m.freeze.freeze() }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := newCluster(b)
			var took []time.Duration
			group := 0
			for b.Loop() {
				b.StopTimer()
				group++
				board := newBoard()
				standby := &lineWatch{want: []byte("standing by: another replica")}
				members := map[string]*member{}
				for _, name := range []string{"a", "b"} {
					members[name] = start(b, c, board, name, func(cfg *leader.Config) {
						cfg.Group = fmt.Sprintf("skill6pub-bench-%d", group)
						cfg.SessionTimeout = leader.DefaultSessionTimeout
						cfg.HeartbeatInterval = leader.DefaultHeartbeatInterval
						cfg.RebalanceTimeout = leader.DefaultRebalanceTimeout
						log := zerolog.New(standby)
						cfg.Logger = &log
					})
				}
				// Once one member says it stands by, the other is the
				// active one of that same generation.
				standby.wait()
				active := board.waitActive(b)
				b.StartTimer()
				began := time.Now()
				tc.end(b, members[active])
				board.waitActive(b, active)
				took = append(took, time.Since(began))
				b.StopTimer()
				for _, m := range members {
					m.stop(b)
				}
				b.StartTimer()
			}
			b.Logf("each takeover: %v", took)
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "ms-median")
			b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "ms-worst")
		})
	}
}

// lineWatch is a log writer that tells when a line holding want was
// written.
type lineWatch struct {
	want []byte
	once sync.Once
	seen chan struct{}
	mu   sync.Mutex
}

func (w *lineWatch) init() { w.once.Do(func() { w.seen = make(chan struct{}) }) }

func (w *lineWatch) Write(p []byte) (int, error) {
	w.init()
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, w.want) {
		select {
		case <-w.seen:
		default:
			close(w.seen)
		}
	}
	return len(p), nil
}

func (w *lineWatch) wait() {
	w.init()
	<-w.seen
}
