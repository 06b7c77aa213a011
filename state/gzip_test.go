package state

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"testing"
)

// largePendingState is a state large enough for several deflate blocks,
// with a pending window: 5,000 committed rows and 3,000 pending ones.
func largePendingState() State {
	s := randomState(5000)
	s.Pending = pendingState().Pending
	s.Pending.Report.Rows = randomState(3000).Windows[0].Rows
	return s
}

// bodyOf returns the uncompressed body of s's state file.
func bodyOf(t *testing.T, s State) []byte {
	t.Helper()
	var b bytes.Buffer
	content := fileBody{
		Key:     fileKey{Operation: s.Key.Operation, SkillID: s.Key.SkillID},
		Windows: s.Windows,
		Pending: toFilePending(s.Pending),
	}
	if err := writeBody(&b, content); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// stdlibGzipFile returns a version 1 state file holding body compressed by
// compress/gzip at level, as builds before klauspost/compress wrote them.
func stdlibGzipFile(t *testing.T, body []byte, level int) []byte {
	t.Helper()
	var compressed bytes.Buffer
	zw, err := gzip.NewWriterLevel(&compressed, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(compressed.Bytes())
	header, err := json.Marshal(fileHeader{Format: formatName, Version: 1, BodyBytes: compressed.Len(), BodySHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	return append(append(header, '\n'), compressed.Bytes()...)
}

// TestFilesCompressedByTheStandardLibraryLoad loads, through a Dir, files
// whose body compress/gzip wrote: BestSpeed as every build before
// klauspost/compress did, and the default level.
func TestFilesCompressedByTheStandardLibraryLoad(t *testing.T) {
	want := largePendingState()
	for _, level := range []int{gzip.BestSpeed, gzip.DefaultCompression} {
		d := openDir(t, t.TempDir())
		if err := os.WriteFile(d.Path(want.Key), stdlibGzipFile(t, bodyOf(t, want), level), 0o600); err != nil {
			t.Fatal(err)
		}
		got := load(t, d, want.Key)
		// The body written again from what was read covers every field,
		// the pending window's times and raw rejected rows included.
		if !bytes.Equal(bodyOf(t, got), bodyOf(t, want)) {
			t.Errorf("level %d: the state read back differs from the state written", level)
		}
	}
}

// TestSavedFilesArePlainGzip reads the body of a saved file with
// compress/gzip, which checks its CRC-32 and length, and compares its gzip
// header with the one compress/gzip writes: no modification time, no name.
func TestSavedFilesArePlainGzip(t *testing.T) {
	s := largePendingState()
	d := openDir(t, t.TempDir())
	save(t, d, s)
	file, err := os.ReadFile(d.Path(s.Key))
	if err != nil {
		t.Fatal(err)
	}
	body := file[bytes.IndexByte(file, '\n')+1:]

	var stdlib bytes.Buffer
	zw, err := gzip.NewWriterLevel(&stdlib, compression)
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Flush(); err != nil { // writes the header
		t.Fatal(err)
	}
	const headerBytes = 10 // RFC 1952, 2.3: no optional fields follow
	if !bytes.Equal(body[:headerBytes], stdlib.Bytes()[:headerBytes]) {
		t.Errorf("gzip header = % x, compress/gzip writes % x", body[:headerBytes], stdlib.Bytes()[:headerBytes])
	}

	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("compress/gzip cannot read a saved body: %v", err)
	}
	if !bytes.Equal(plain, bodyOf(t, s)) {
		t.Errorf("compress/gzip reads a body of %d bytes that is not the state's JSON (%d bytes)", len(plain), len(bodyOf(t, s)))
	}
}
