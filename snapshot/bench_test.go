package snapshot_test

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/internal/cputime"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
	"github.com/skill6pub/skill6pub/snapshot"
)

// bigWindows returns the snapshot of a window of n rows and the next window
// of n rows: 70% of the callers again (half of them with other numbers),
// 30% new ones, the response in no particular order, its DNIS packed in one
// string in response order as fetch's decoder leaves them.
func bigWindows(n int, hasher *schema.DNISHasher) (*snapshot.Snapshot, snapshot.Window) {
	r := rand.New(rand.NewPCG(5, 6))
	rowsFor := func(from int) []fetch.Row {
		rows := make([]fetch.Row, n)
		for i := range rows {
			caller := from + i
			inbound := int64(1 + caller%4)
			if r.IntN(2) == 0 {
				inbound++
			}
			rows[i] = row("57300"+strconv.Itoa(1_000_000+caller), calls(inbound, inbound-int64(caller%2), float64(caller%101), float64(caller%60)))
		}
		r.Shuffle(n, func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		packDNIS(rows)
		return rows
	}
	prev := snapshot.Diff(nil, withHasher(window(rowsFor(0)...), hasher)).Snapshot
	return &prev, withHasher(window(rowsFor(n*3/10)...), hasher)
}

// BenchmarkDiff100k diffs two 100,000-row windows (target: under 100 ms and
// 100 MB allocated per diff). The rows of the snapshot are already in
// order, as the state store keeps them; the response's are not.
func BenchmarkDiff100k(b *testing.B) {
	for _, c := range []struct {
		name   string
		hasher *schema.DNISHasher
	}{
		{"plain", nil},
		{"hmac", schema.NewDNISHasher(secret.New("benchmark key"))},
	} {
		b.Run(c.name, func(b *testing.B) {
			prev, cur := bigWindows(100_000, c.hasher)
			kept := heapKept(func() any { return snapshot.Diff(prev, cur) })
			b.ReportAllocs()
			var events int
			cpu, _ := cputime.Process()
			for b.Loop() {
				events = snapshot.Diff(prev, cur).Events.Len()
			}
			reportCPU(b, cpu)
			b.ReportMetric(float64(events), "events/op")
			b.ReportMetric(kept/1e6, "kept-MB")
		})
	}
}

// BenchmarkSlice100k builds the events of the diff of BenchmarkDiff100k
// as a publisher asks for them, a chunk at a time: the cost Diff no longer
// pays up front.
func BenchmarkSlice100k(b *testing.B) {
	const chunk = 4096
	prev, cur := bigWindows(100_000, nil)
	events := snapshot.Diff(prev, cur).Events
	b.ReportAllocs()
	cpu, _ := cputime.Process()
	for b.Loop() {
		for from := 0; from < events.Len(); from += chunk {
			events.Slice(from, min(from+chunk, events.Len()))
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkRevise100kUnchanged is the common revision check: a re-fetch of
// a 100,000-row window that did not change.
func BenchmarkRevise100kUnchanged(b *testing.B) {
	_, cur := bigWindows(100_000, nil)
	published := snapshot.Diff(nil, cur).Snapshot
	b.ReportAllocs()
	cpu, _ := cputime.Process()
	for b.Loop() {
		if _, changed := snapshot.Revise(published, cur); changed {
			b.Fatal("revision of unchanged data")
		}
	}
	reportCPU(b, cpu)
}

// reportCPU reports the process CPU time per iteration since start. Both
// reads are 0 where CPU time cannot be read (outside unix), and so is the
// figure.
func reportCPU(b *testing.B, start time.Duration) {
	now, _ := cputime.Process()
	b.ReportMetric(float64(now-start)/float64(b.N)/1e6, "cpu-ms/op")
}

// heapKept returns the bytes of heap that a result of produce keeps live
// while it is held (after a collection), as the scheduler holds a window's
// output until it is acknowledged. It is measured before b.Loop, which
// keeps the results of its loop alive, and reported after it, since its
// first call clears the metrics reported before.
func heapKept(produce func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := produce()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	return float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
}

// packDNIS puts the rows' DNIS end to end in one string, in row order.
func packDNIS(rows []fetch.Row) {
	var all strings.Builder
	for _, r := range rows {
		all.WriteString(r.DNIS)
	}
	packed := all.String()
	for i := range rows {
		n := len(rows[i].DNIS)
		rows[i].DNIS, packed = packed[:n], packed[n:]
	}
}
