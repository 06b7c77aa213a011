package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/internal/cputime"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/snapshot"
)

// The crash and lock tests run this test binary again as a child process
// that does one thing in a state directory and then exits or waits.
const (
	helperModeEnv = "STATE_TEST_HELPER"
	helperDirEnv  = "STATE_TEST_DIR"

	helperCrashInSave = "crash-in-save" // dies inside Save, before the rename
	helperHoldLock    = "hold-lock"     // opens, says so, waits for stdin to close, exits without Close

	crashExitCode = 3
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperModeEnv); mode != "" {
		os.Exit(runHelper(mode, os.Getenv(helperDirEnv)))
	}
	os.Exit(m.Run())
}

func runHelper(mode, dir string) int {
	switch mode {
	case helperCrashInSave:
		d, err := OpenDir(dir, WithBeforeRename(func() { os.Exit(crashExitCode) }))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := d.Save(newerState()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "Save returned without reaching the hook")
		return 1
	case helperHoldLock:
		if _, err := OpenDir(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0 // exits holding the lock, as a crash would
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 1
}

func helperCommand(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperDirEnv+"="+dir)
	cmd.Stderr = &bytes.Buffer{}
	return cmd
}

var (
	bogota  = time.FixedZone("COT", -5*60*60)
	kolkata = time.FixedZone("IST", 5*60*60+30*60)
	liveKey = Key{Operation: "0032", SkillID: "3"}
)

func window(start time.Time, revision int, rows ...fetch.Row) snapshot.Snapshot {
	return snapshot.Snapshot{WindowStart: start, WindowEnd: start.Add(5 * time.Minute), Revision: revision, Rows: rows}
}

// olderState and newerState are two successive states of liveKey, with
// nulls, zeros and fractions among the metrics.
func olderState() State {
	start := time.Date(2025, 3, 9, 10, 0, 0, 0, bogota)
	return State{Key: liveKey, Windows: []snapshot.Snapshot{
		window(start, 0,
			fetch.Row{DNIS: "573001112233", Metrics: schema.Metrics{
				InboundCalls: schema.IntOf(12), AnswerCalls: schema.IntOf(10), AbandonCalls: schema.IntOf(2),
				ServiceLevel10sPct: schema.FloatOf(83.33), ServiceLevel20sPct: schema.FloatOf(90),
				ServiceLevel30sPct: schema.FloatOf(100), AbandonPct: schema.FloatOf(16.67),
				ASASeconds: schema.FloatOf(7.5), ATASeconds: schema.FloatOf(0.1),
			}},
			fetch.Row{DNIS: "573004445566", Metrics: schema.Metrics{
				InboundCalls: schema.IntOf(0), AnswerCalls: schema.IntOf(0),
				// wolkvox gave no value for the rest: they must come back null, not 0
			}},
		),
	}}
}

func newerState() State {
	s := olderState()
	next := time.Date(2025, 3, 9, 10, 5, 0, 0, bogota)
	s.Windows = append(s.Windows, window(next, 1, fetch.Row{DNIS: "573009998877", Metrics: schema.Metrics{
		InboundCalls: schema.IntOf(1), ASASeconds: schema.FloatOf(123.456),
	}}))
	// A gap from 09:30 to 10:00: the live stream skipped it.
	s.Published = []Span{
		{Start: time.Date(2025, 3, 9, 8, 0, 0, 0, bogota), End: time.Date(2025, 3, 9, 9, 30, 0, 0, bogota)},
		{Start: time.Date(2025, 3, 9, 10, 0, 0, 0, bogota), End: next.Add(5 * time.Minute)},
	}
	return s
}

// assertSameState compares states field by field: decoded times carry a
// fixed zone rather than the original *time.Location, so the instant and the
// UTC offset are what must survive.
func assertSameState(t *testing.T, got, want State) {
	t.Helper()
	if got.Key != want.Key {
		t.Fatalf("key = %+v, want %+v", got.Key, want.Key)
	}
	if len(got.Windows) != len(want.Windows) {
		t.Fatalf("%d windows, want %d", len(got.Windows), len(want.Windows))
	}
	for i, w := range want.Windows {
		g := got.Windows[i]
		assertSameTime(t, fmt.Sprintf("window %d start", i), g.WindowStart, w.WindowStart)
		assertSameTime(t, fmt.Sprintf("window %d end", i), g.WindowEnd, w.WindowEnd)
		if g.Revision != w.Revision {
			t.Errorf("window %d revision = %d, want %d", i, g.Revision, w.Revision)
		}
		if !reflect.DeepEqual(g.Rows, w.Rows) {
			t.Errorf("window %d rows:\n got %+v\nwant %+v", i, g.Rows, w.Rows)
		}
	}
	if len(got.Published) != len(want.Published) {
		t.Fatalf("%d published spans, want %d", len(got.Published), len(want.Published))
	}
	for i, span := range want.Published {
		assertSameTime(t, fmt.Sprintf("published span %d start", i), got.Published[i].Start, span.Start)
		assertSameTime(t, fmt.Sprintf("published span %d end", i), got.Published[i].End, span.End)
	}
}

func assertSameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	_, gotOffset := got.Zone()
	_, wantOffset := want.Zone()
	if !got.Equal(want) || gotOffset != wantOffset {
		t.Errorf("%s = %s, want %s", what, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
}

func openDir(t *testing.T, dir string, opts ...Option) *Dir {
	t.Helper()
	d, err := OpenDir(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func save(t *testing.T, d *Dir, s State) {
	t.Helper()
	if err := d.Save(s); err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, d *Dir, k Key) State {
	t.Helper()
	s, found, err := d.Load(k)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no state for %+v", k)
	}
	return s
}

// dirNames lists the directory, hidden files included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestLoadWithoutStateIsNotFound(t *testing.T) {
	d := openDir(t, t.TempDir())
	s, found, err := d.Load(liveKey)
	if err != nil || found || s.Key != (Key{}) || s.Windows != nil {
		t.Fatalf("Load = %+v, %v, %v; want zero state, false, nil", s, found, err)
	}
}

func TestRoundTripAcrossReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet", "there")
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := newerState()
	want.Windows[1].WindowStart = want.Windows[1].WindowStart.In(kolkata)
	want.Windows[1].WindowEnd = time.Date(2025, 3, 9, 15, 35, 0, 123456789, kolkata)
	save(t, d, want)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	assertSameState(t, load(t, openDir(t, dir), liveKey), want)
}

func TestSaveReplacesAndLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	save(t, d, olderState())
	save(t, d, newerState())
	assertSameState(t, load(t, d, liveKey), newerState())

	got := dirNames(t, dir)
	want := []string{lockFileName, filepath.Base(d.Path(liveKey))}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("directory holds %q, want %q", got, want)
	}
}

func TestStateFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	d := openDir(t, dir)
	save(t, d, olderState())
	for _, path := range []string{dir, d.Path(liveKey)} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v: others can read the DNIS in it", path, perm)
		}
	}
}

func TestInterruptedWriteKeepsPreviousState(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	save(t, d, olderState())
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	child := helperCommand(t, helperCrashInSave, dir)
	err = child.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != crashExitCode {
		t.Fatalf("child: %v, want exit code %d from the hook; stderr:\n%s", err, crashExitCode, child.Stderr)
	}
	var leftovers []string
	for _, name := range dirNames(t, dir) {
		if strings.HasPrefix(name, tempPrefix) {
			leftovers = append(leftovers, name)
		}
	}
	if len(leftovers) != 1 {
		t.Fatalf("after the crash the directory holds %q; want one unfinished temporary file", dirNames(t, dir))
	}

	d = openDir(t, dir)
	assertSameState(t, load(t, d, liveKey), olderState())
	if slices.ContainsFunc(dirNames(t, dir), func(n string) bool { return strings.HasPrefix(n, tempPrefix) }) {
		t.Errorf("OpenDir left the unfinished file: directory holds %q", dirNames(t, dir))
	}
}

// TestSavesReuseTheCompressor saves a large state and then small ones
// through one Dir, whose gzip writer is reused from save to save: each file
// is byte for byte what a new writer makes, nothing of the large state
// leaks into the others, and the large one still reads back.
func TestSavesReuseTheCompressor(t *testing.T) {
	d := openDir(t, t.TempDir())
	large := randomState(5000)
	large.Key.SkillID = "large"
	for _, s := range []State{large, olderState(), newerState(), pendingState()} {
		save(t, d, s)
		got, err := os.ReadFile(d.Path(s.Key))
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := encodeState(&want, s, &sync.Pool{}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("state of %+v saved with a reused compressor differs from a fresh encoding", s.Key)
		}
	}
	assertSameState(t, load(t, d, large.Key), large)
}

// validFile returns the bytes of a correctly written state file.
func validFile(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := encodeState(&b, olderState(), &sync.Pool{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func withHeader(t *testing.T, header string) []byte {
	t.Helper()
	file := validFile(t)
	return append([]byte(header+"\n"), file[bytes.IndexByte(file, '\n')+1:]...)
}

func TestUntrustworthyFilesAreReportedAndKept(t *testing.T) {
	valid := validFile(t)
	bodyStart := bytes.IndexByte(valid, '\n') + 1
	flipped := bytes.Clone(valid)
	flipped[bodyStart+len(valid[bodyStart:])/2] ^= 0x01
	var otherKey bytes.Buffer
	if err := encodeState(&otherKey, State{Key: Key{Operation: "0032", SkillID: "4"}}, &sync.Pool{}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		file   []byte
		reason string
	}{
		{"empty", nil, "it is empty"},
		{"cut inside the header", valid[:10], "no header line"},
		{"cut inside the body", valid[:len(valid)-7], fmt.Sprintf("truncated: %d of %d body bytes", len(valid)-bodyStart-7, len(valid)-bodyStart)},
		{"bytes after the body", append(bytes.Clone(valid), "xyz"...), "3 bytes after the"},
		{"a flipped bit", flipped, "checksum does not match"},
		{"not a state file", []byte("hello\nworld\n"), "header line is not valid JSON"},
		{"another format", withHeader(t, `{"format":"something-else","version":1}`), `format "something-else"`},
		{"another key's state", otherKey.Bytes(), `it holds the state of operation "0032", skill "4"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openDir(t, t.TempDir())
			path := d.Path(liveKey)
			if err := os.WriteFile(path, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}

			_, found, err := d.Load(liveKey)
			var corrupt *CorruptError
			if !errors.As(err, &corrupt) {
				t.Fatalf("Load error = %v (found %v), want a *CorruptError", err, found)
			}
			if corrupt.Path != path || !strings.Contains(corrupt.Reason, tc.reason) {
				t.Errorf("CorruptError{Path: %q, Reason: %q}, want path %q, reason containing %q", corrupt.Path, corrupt.Reason, path, tc.reason)
			}
			assertRecoveryMessage(t, err, path)
			assertFileUnchanged(t, path, tc.file)
		})
	}
}

func TestUnknownVersionIsReportedAndKept(t *testing.T) {
	d := openDir(t, t.TempDir())
	path := d.Path(liveKey)
	file := withHeader(t, `{"format":"skill6pub-state","version":2,"body_bytes":1,"body_sha256":"00","compression":"zstd"}`)
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}

	_, _, err := d.Load(liveKey)
	var version *VersionError
	if !errors.As(err, &version) || version.Path != path || version.Version != 2 {
		t.Fatalf("Load error = %#v, want *VersionError{Path: %q, Version: 2}", err, path)
	}
	if msg := err.Error(); !strings.Contains(msg, "format version 2 and this build reads only version 1") ||
		!strings.Contains(msg, "newer skill6pub") {
		t.Errorf("message does not explain the version: %s", msg)
	}
	assertRecoveryMessage(t, err, path)
	assertFileUnchanged(t, path, file)
}

func assertRecoveryMessage(t *testing.T, err error, path string) {
	t.Helper()
	msg := err.Error()
	for _, want := range []string{path, "move it aside", fmt.Sprintf("mv %q %q", path, path+".bad"), "skill6pub backfill"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
}

func assertFileUnchanged(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s was changed", path)
	}
}

func TestSecondOpenerInProcessIsLockedOut(t *testing.T) {
	dir := t.TempDir()
	first, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}

	_, err = OpenDir(dir)
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Dir != dir || locked.PID != os.Getpid() {
		t.Fatalf("second OpenDir error = %#v, want *LockedError{Dir: %q, PID: %d}", err, dir, os.Getpid())
	}
	if want := fmt.Sprintf("directory %s is in use by process %d", dir, os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("message %q lacks %q", err, want)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	openDir(t, dir) // the lock is free again
}

func TestSecondProcessIsLockedOutUntilTheHolderDies(t *testing.T) {
	dir := t.TempDir()
	holder := helperCommand(t, helperHoldLock, dir)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		_ = holder.Process.Kill()
		_ = holder.Wait()
		t.Fatalf("holder said %q (%v); stderr:\n%s", line, err, holder.Stderr)
	}

	_, err = OpenDir(dir)
	var locked *LockedError
	if !errors.As(err, &locked) || locked.PID != holder.Process.Pid {
		t.Errorf("OpenDir while another process holds it: %v, want a *LockedError naming PID %d", err, holder.Process.Pid)
	}
	if err != nil && !strings.Contains(err.Error(), "process "+strconv.Itoa(holder.Process.Pid)) {
		t.Errorf("message does not name the holder: %v", err)
	}

	_ = stdin.Close() // the holder exits without Close
	if err := holder.Wait(); err != nil {
		t.Fatalf("holder: %v; stderr:\n%s", err, holder.Stderr)
	}
	openDir(t, dir)
}

func TestClosedDirRefusesWork(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := d.Save(olderState()); !errors.Is(err, ErrClosed) {
		t.Errorf("Save after Close: %v, want ErrClosed", err)
	}
	if _, _, err := d.Load(liveKey); !errors.Is(err, ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}
}

// randomState is a realistic window of n rows for benchmarks: DNIS of
// Colombian mobile numbers, small call counts, percentages with two
// decimals, and a few metrics left empty.
func randomState(n int) State {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]fetch.Row, n)
	pct := func() schema.NullFloat {
		if rng.IntN(20) == 0 {
			return schema.NullFloat{}
		}
		return schema.FloatOf(float64(rng.IntN(10001)) / 100)
	}
	for i := range rows {
		inbound := rng.Int64N(50) + 1
		answered := rng.Int64N(inbound + 1)
		rows[i] = fetch.Row{
			DNIS: fmt.Sprintf("57%010d", rng.Int64N(1e10)),
			Metrics: schema.Metrics{
				InboundCalls: schema.IntOf(inbound), AnswerCalls: schema.IntOf(answered),
				AbandonCalls:       schema.IntOf(inbound - answered),
				ServiceLevel10sPct: pct(), ServiceLevel20sPct: pct(), ServiceLevel30sPct: pct(),
				AbandonPct: pct(), ASASeconds: pct(), ATASeconds: pct(),
			},
		}
	}
	slices.SortFunc(rows, func(a, b fetch.Row) int { return strings.Compare(a.DNIS, b.DNIS) })
	return State{Key: liveKey, Windows: []snapshot.Snapshot{window(time.Date(2025, 3, 9, 10, 0, 0, 0, bogota), 0, rows...)}}
}

func TestLargeStateRoundTrip(t *testing.T) {
	want := randomState(20_000)
	d := openDir(t, t.TempDir())
	save(t, d, want)
	assertSameState(t, load(t, d, liveKey), want)
}

// BenchmarkDir100kRows saves and loads a state of one 100,000-row window
// and reports the size of its file.
func BenchmarkDir100kRows(b *testing.B) {
	s := randomState(100_000)
	d, err := OpenDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Save(s); err != nil {
		b.Fatal(err)
	}
	b.Run("save", func(b *testing.B) {
		cpu, _ := cputime.Process()
		for b.Loop() {
			if err := d.Save(s); err != nil {
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
	b.Run("load", func(b *testing.B) {
		cpu, _ := cputime.Process()
		for b.Loop() {
			if _, found, err := d.Load(liveKey); err != nil || !found {
				b.Fatal(found, err)
			}
		}
		reportCPU(b, cpu)
	})
}

// reportCPU reports the process CPU time per iteration since start: on
// this shared 2-core machine it varies less than wall time, which also
// counts waiting for a core. fsync waits are in wall time only. Both reads
// are 0 where CPU time cannot be read (outside unix), and so is the figure.
func reportCPU(b *testing.B, start time.Duration) {
	now, _ := cputime.Process()
	b.ReportMetric(float64(now-start)/float64(b.N)/1e6, "cpu-ms/op")
}

// TestWriteBodyMatchesEncodingJSON compares writeBody with what
// json.Encoder writes for the same body: states with and without a pending
// window, nil and empty rows, DNIS that need escaping, and a state large
// enough to be written in several pieces.
func TestWriteBodyMatchesEncodingJSON(t *testing.T) {
	odd := olderState()
	odd.Windows[0].Rows = append(odd.Windows[0].Rows,
		fetch.Row{DNIS: `<a&b>"\` + "\u2028\x01é\xff"},
		fetch.Row{DNIS: `"rows":null`},
	)
	odd.Windows[0].Repeaters = []string{`"rows":null`}
	odd.Windows[0].DNISKeyID = `k"rows":null`
	empty := newerState()
	empty.Windows[0].Rows = []fetch.Row{}
	empty.Windows[1].Rows = nil
	noRows := pendingState()
	noRows.Pending.Report.Rows = nil
	large := randomState(3000)
	large.Pending = pendingState().Pending
	large.Pending.Report.Rows = randomState(2000).Windows[0].Rows
	withBase := pendingState()
	baseSnap := randomState(500).Windows[0]
	withBase.Pending.Base = &Base{Start: &baseSnap.WindowStart, Snapshot: &baseSnap}
	for name, s := range map[string]State{
		"pending with its base snapshot": withBase,
		"older":                          olderState(), "newer": newerState(), "pending": pendingState(), "odd strings": odd,
		"empty and nil rows": empty, "pending without rows": noRows, "large": large,
		"no windows": {Key: liveKey},
	} {
		content := toFileBody(s)
		var want, got bytes.Buffer
		if err := json.NewEncoder(&want).Encode(content); err != nil {
			t.Fatal(err)
		}
		if err := writeBody(&got, content); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: writeBody wrote\n%.300s\nencoding/json writes\n%.300s", name, got.Bytes(), want.Bytes())
		}
	}
}

// TestALostDirectoryIsNeverWrittenAgain: once the directory or its lock file
// is removed or replaced under an open Dir, Load and Save refuse with a
// *LostError, also after a second Dir locked the recreated directory, so
// that two processes never publish from one state.
func TestALostDirectoryIsNeverWrittenAgain(t *testing.T) {
	for name, lose := range map[string]func(dir string) error{
		"directory removed":  os.RemoveAll,
		"lock file removed":  func(dir string) error { return os.Remove(filepath.Join(dir, lockFileName)) },
		"lock file replaced": func(dir string) error { return os.Rename(filepath.Join(dir, lockFileName), filepath.Join(dir, "old")) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			d := openDir(t, dir)
			save(t, d, olderState())
			if err := lose(dir); err != nil {
				t.Fatal(err)
			}
			second := openDir(t, dir) // a second process on the recreated directory
			save(t, second, newerState())
			var lost *LostError
			if err := d.Save(olderState()); !errors.As(err, &lost) {
				t.Fatalf("Save after the directory was lost: %v, want a *LostError", err)
			}
			if _, _, err := d.Load(liveKey); !errors.As(err, &lost) {
				t.Fatalf("Load after the directory was lost: %v, want a *LostError", err)
			}
			if got := load(t, second, liveKey); len(got.Windows) != len(newerState().Windows) {
				t.Errorf("the second holder's state was overwritten: %d windows", len(got.Windows))
			}
			if !strings.Contains(lost.Error(), dir) || !strings.Contains(lost.Error(), "stops publishing") {
				t.Errorf("error %q does not name the directory and what happens", lost)
			}
		})
	}
}

// TestAStateFileThatIsADirectorySaysWhatToDo: a directory where a state file
// belongs is named with what to do, not reported as a bare "is a directory".
func TestAStateFileThatIsADirectorySaysWhatToDo(t *testing.T) {
	d := openDir(t, t.TempDir())
	if err := os.Mkdir(d.Path(liveKey), 0o700); err != nil {
		t.Fatal(err)
	}
	_, _, err := d.Load(liveKey)
	if err == nil || !strings.Contains(err.Error(), d.Path(liveKey)+" is a directory") || !strings.Contains(err.Error(), "move it out of STATE_DIR") {
		t.Fatalf("Load = %v, want the path and what to do", err)
	}
}
