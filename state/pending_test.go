package state

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/internal/cputime"
	"github.com/skill6pub/skill6pub/schema"
)

// pendingState is olderState with the next window pending: typed rows, a
// rejected row that is not JSON and one that is not UTF-8, and a fetch time
// with nanoseconds.
func pendingState() State {
	s := olderState()
	start := time.Date(2025, 3, 9, 10, 5, 0, 0, bogota)
	s.Pending = &Pending{
		WindowStart: start,
		WindowEnd:   start.Add(5 * time.Minute),
		FetchedAt:   time.Date(2025, 3, 9, 10, 11, 0, 123456789, bogota),
		DNISKeyID:   "0123456789abcdef",
		Report: fetch.Report{
			Rows: []fetch.Row{
				{DNIS: "573009998877", Metrics: schema.Metrics{InboundCalls: schema.IntOf(3), ASASeconds: schema.FloatOf(0.1 + 0.2)}},
				{DNIS: "573001112233"},
			},
			Rejected: []fetch.RejectedRow{
				{Index: 2, Raw: json.RawMessage(`{ "dnis" : "57300", "inbound_calls" : "-3" }`), Reason: `inbound_calls "-3": negative`},
				{Index: 3, Raw: json.RawMessage("{\"dnis\":\"\xff\xfe\"}"), Reason: "dnis is not valid UTF-8"},
				{Index: 4, Raw: json.RawMessage(`[1,`), Reason: "the row is an array, want an object"},
			},
			MaybeTruncated: true,
		},
	}
	return s
}

func TestPendingRoundTripsByteForByte(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	want := pendingState()
	save(t, d, want)

	got := load(t, d, liveKey)
	assertSameState(t, got, want)
	if got.Pending == nil {
		t.Fatal("the pending window was not read back")
	}
	p, w := got.Pending, want.Pending
	for _, tc := range []struct {
		what      string
		got, want time.Time
	}{{"start", p.WindowStart, w.WindowStart}, {"end", p.WindowEnd, w.WindowEnd}, {"fetched_at", p.FetchedAt, w.FetchedAt}} {
		assertSameTime(t, "pending "+tc.what, tc.got, tc.want)
	}
	if p.Revision != w.Revision || p.DNISKeyID != w.DNISKeyID || p.Report.NoData != w.Report.NoData || p.Report.MaybeTruncated != w.Report.MaybeTruncated {
		t.Errorf("pending = %+v, want %+v", p, w)
	}
	if !reflect.DeepEqual(p.Report.Rows, w.Report.Rows) {
		t.Errorf("rows = %+v, want %+v", p.Report.Rows, w.Report.Rows)
	}
	if len(p.Report.Rejected) != len(w.Report.Rejected) {
		t.Fatalf("%d rejected rows, want %d", len(p.Report.Rejected), len(w.Report.Rejected))
	}
	for i, r := range w.Report.Rejected {
		g := p.Report.Rejected[i]
		// The dead letter of a replayed window must equal the first one,
		// so the raw row must come back exactly, whitespace and bad bytes
		// included.
		if g.Index != r.Index || g.Reason != r.Reason || !bytes.Equal(g.Raw, r.Raw) {
			t.Errorf("rejected row %d = {%d %q %q}, want {%d %q %q}", i, g.Index, g.Raw, g.Reason, r.Index, r.Raw, r.Reason)
		}
	}

	// The commit that follows clears it.
	committed := newerState()
	save(t, d, committed)
	if got := load(t, d, liveKey); got.Pending != nil {
		t.Errorf("pending survived a save without it: %+v", got.Pending)
	}
}

// TestFileWithoutPendingStillReads checks that a version 1 file written
// before the pending record existed (no "pending" member) reads as before.
func TestFileWithoutPendingStillReads(t *testing.T) {
	older := olderState()
	windows, err := json.Marshal(older.Windows)
	if err != nil {
		t.Fatal(err)
	}
	file := stdlibGzipFile(t, []byte(`{"key":{"operation":"0032","skill_id":"3","job":""},"windows":`+string(windows)+"}\n"), gzip.DefaultCompression)

	got, err := decodeState(filepath.Join(t.TempDir(), "live-0032-3.state"), file)
	if err != nil {
		t.Fatal(err)
	}
	assertSameState(t, got, older)
	if got.Pending != nil {
		t.Errorf("a file without pending read with pending %+v", got.Pending)
	}
	if strings.Contains(string(file), "pending") {
		t.Fatal("test file should not mention pending")
	}
}

// BenchmarkWriteAhead measures what the write-ahead record costs: every
// window is saved twice, first with the fetched report as its pending
// window (beside the previous window's snapshot), then committed without
// it. "commit" is the one save per window there was before; "write-ahead"
// is the save added.
func BenchmarkWriteAhead(b *testing.B) {
	for _, rows := range []int{40, 1_000, 100_000} {
		committed := randomState(rows)
		ahead := committed
		last, _ := committed.Last()
		ahead.Pending = &Pending{
			WindowStart: last.WindowEnd, WindowEnd: last.WindowEnd.Add(5 * time.Minute),
			FetchedAt: last.WindowEnd.Add(6 * time.Minute), Report: fetch.Report{Rows: last.Rows},
		}
		for _, tc := range []struct {
			name string
			s    State
		}{{"commit", committed}, {"write-ahead", ahead}} {
			b.Run(fmt.Sprintf("rows=%d/%s", rows, tc.name), func(b *testing.B) {
				d, err := OpenDir(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer d.Close()
				cpu, _ := cputime.Process()
				for b.Loop() {
					if err := d.Save(tc.s); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
				info, err := os.Stat(d.Path(liveKey))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(info.Size()), "file-bytes")
			})
		}
	}
}

// TestPendingKeepsItsBase: the snapshot a pending window was compared with
// comes back, named or whole, so that the window goes out again compared
// with the same one; a record without a base reads as before builds kept it.
func TestPendingKeepsItsBase(t *testing.T) {
	d := openDir(t, t.TempDir())
	backfilled := olderState().Windows[0]
	start := backfilled.WindowStart
	for _, tc := range []struct {
		name string
		base *Base
	}{
		{"none", &Base{}},
		{"named", &Base{Start: &start, Revision: 2}},
		{"whole", &Base{Start: &start, Snapshot: &backfilled}},
		{"before bases were kept", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := pendingState()
			want.Pending.Base = tc.base
			save(t, d, want)
			got := load(t, d, liveKey).Pending.Base
			switch {
			case tc.base == nil:
				if got != nil {
					t.Fatalf("base %+v, want none", got)
				}
				return
			case got == nil:
				t.Fatal("the base was not read back")
			case (got.Start == nil) != (tc.base.Start == nil) || got.Start != nil && !got.Start.Equal(*tc.base.Start) || got.Revision != tc.base.Revision:
				t.Errorf("base %+v, want %+v", got, tc.base)
			case (got.Snapshot == nil) != (tc.base.Snapshot == nil):
				t.Errorf("base snapshot %+v, want %+v", got.Snapshot, tc.base.Snapshot)
			case got.Snapshot != nil && !reflect.DeepEqual(got.Snapshot.Rows, tc.base.Snapshot.Rows):
				t.Errorf("base rows %+v, want %+v", got.Snapshot.Rows, tc.base.Snapshot.Rows)
			}
			// The pending rows still land in the pending window, not the base.
			if p := load(t, d, liveKey).Pending; !reflect.DeepEqual(p.Report.Rows, want.Pending.Report.Rows) {
				t.Errorf("pending rows %+v, want %+v", p.Report.Rows, want.Pending.Report.Rows)
			}
		})
	}
}
