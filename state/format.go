package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/snapshot"
)

// FormatVersion is the version of the state file format this build writes
// and reads.
//
// A state file is one header line, a JSON object, then the body:
//
//	{"format":"skill6pub-state","version":1,"body_bytes":N,"body_sha256":"<hex>"}\n
//	<N bytes: gzip of the JSON of {"key":{...},"windows":[snapshot.Snapshot...],"pending":{...},"published":[{"start":...,"end":...}...]}>
//
// "pending" is there only while a window is being published (see Pending).
// A build that does not know it ignores it and fetches the window again, as
// builds before it did, so adding it did not need a new version. The same
// holds for "published" (State.Published): a build without it forgets the
// spans, and a backfill then publishes again what the live stream did.
//
// Every future version keeps the first line a JSON object with "format" and
// "version", so that any build can tell a newer file from a corrupt one. To
// read a file by hand: tail -n +2 FILE | gunzip | jq .
const FormatVersion = 1

const (
	formatName = "skill6pub-state"
	// maxHeaderBytes bounds the search for the header line, so a file that
	// is not a state file is rejected without scanning all of it.
	maxHeaderBytes = 1024
	// compression trades some size for speed. The compressor is
	// klauspost/compress's: its BestSpeed deflates a large window faster
	// than compress/gzip's, into a smaller file (BENCHMARKS.md, "state"),
	// and its bytes are plain gzip, read by compress/gzip and zcat
	// like the files of the builds before it.
	compression = gzip.BestSpeed
)

type fileHeader struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	BodyBytes  int    `json:"body_bytes"`
	BodySHA256 string `json:"body_sha256"`
}

// fileBody is what the body holds. It has its own key type so that the
// on-disk names are fixed here and not by the Go field names of Key.
type fileBody struct {
	Key       fileKey             `json:"key"`
	Windows   []snapshot.Snapshot `json:"windows"`
	Pending   *filePending        `json:"pending,omitempty"`
	Published []fileSpan          `json:"published,omitempty"`
}

// fileSpan is a Span on disk. "published" came after version 1's first
// builds, which ignore it (encoding/json skips unknown members).
type fileSpan struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// toFileBody is what the file of s holds.
func toFileBody(s State) fileBody {
	b := fileBody{
		Key:     fileKey{Operation: s.Key.Operation, SkillID: s.Key.SkillID},
		Windows: s.Windows,
		Pending: toFilePending(s.Pending),
	}
	for _, span := range s.Published {
		b.Published = append(b.Published, fileSpan(span))
	}
	return b
}

// filePending is Pending on disk.
type filePending struct {
	WindowStart    time.Time      `json:"window_start"`
	WindowEnd      time.Time      `json:"window_end"`
	Revision       int            `json:"revision"`
	FetchedAt      time.Time      `json:"fetched_at"`
	DNISKeyID      string         `json:"dnis_key_id,omitempty"`
	Rows           []fetch.Row    `json:"rows"`
	Rejected       []fileRejected `json:"rejected,omitempty"`
	NoData         bool           `json:"no_data,omitempty"`
	MaybeTruncated bool           `json:"maybe_truncated,omitempty"`
	Base           *fileBase      `json:"base,omitempty"`
}

// fileBase is a Base on disk. "base" came after version 1's first builds:
// they ignore it and diff a pending window against their last window, as
// they did before; this build reads a record without it the same way.
type fileBase struct {
	Start    *time.Time         `json:"start,omitempty"`
	Revision int                `json:"revision"`
	Snapshot *snapshot.Snapshot `json:"snapshot,omitempty"`
}

// fileRejected is a fetch.RejectedRow on disk. Raw is kept as bytes
// (base64 in the JSON): a rejected row may be invalid JSON or invalid
// UTF-8, and its dead letter must be the same byte for byte when the window
// is published again.
type fileRejected struct {
	Index  int    `json:"index"`
	Raw    []byte `json:"raw"`
	Reason string `json:"reason"`
}

func toFilePending(p *Pending) *filePending {
	if p == nil {
		return nil
	}
	f := &filePending{
		WindowStart: p.WindowStart, WindowEnd: p.WindowEnd, Revision: p.Revision, FetchedAt: p.FetchedAt,
		DNISKeyID: p.DNISKeyID, Rows: p.Report.Rows, NoData: p.Report.NoData, MaybeTruncated: p.Report.MaybeTruncated,
	}
	if b := p.Base; b != nil {
		f.Base = &fileBase{Start: b.Start, Revision: b.Revision, Snapshot: b.Snapshot}
	}
	for _, r := range p.Report.Rejected {
		f.Rejected = append(f.Rejected, fileRejected{Index: r.Index, Raw: r.Raw, Reason: r.Reason})
	}
	return f
}

func (f *filePending) pending() *Pending {
	if f == nil {
		return nil
	}
	p := &Pending{
		WindowStart: f.WindowStart, WindowEnd: f.WindowEnd, Revision: f.Revision, FetchedAt: f.FetchedAt, DNISKeyID: f.DNISKeyID,
		Report: fetch.Report{Rows: f.Rows, NoData: f.NoData, MaybeTruncated: f.MaybeTruncated},
	}
	if b := f.Base; b != nil {
		p.Base = &Base{Start: b.Start, Revision: b.Revision, Snapshot: b.Snapshot}
	}
	for _, r := range f.Rejected {
		p.Report.Rejected = append(p.Report.Rejected, fetch.RejectedRow{Index: r.Index, Raw: r.Raw, Reason: r.Reason})
	}
	return p
}

type fileKey struct {
	Operation string `json:"operation"`
	SkillID   string `json:"skill_id"`
	// Job is always empty: builds before every command shared one record
	// named a backfill's state by it, and still read it.
	Job string `json:"job"`
}

// compressedRowBytes is room enough for a row in the compressed body, so
// that the body's buffer is allocated once rather than grown, copied and
// doubled about twenty times, which was a large share of the bytes a large
// save allocated (BENCHMARKS.md, "state").
const compressedRowBytes = 64

// encodeState writes the whole file content for s to w. The body is
// compressed into memory first because the header carries its checksum.
// gzips holds *gzip.Writers to reuse: a new one allocates and clears a
// large window of history, which for a small state costs far more than the
// compression itself and makes the garbage collector run during every
// backfill.
func encodeState(w io.Writer, s State, gzips *sync.Pool) error {
	var body bytes.Buffer
	rows := 0
	for _, window := range s.Windows {
		rows += len(window.Rows)
	}
	if p := s.Pending; p != nil {
		rows += len(p.Report.Rows)
		if p.Base != nil && p.Base.Snapshot != nil {
			rows += len(p.Base.Snapshot.Rows)
		}
	}
	body.Grow(512 + rows*compressedRowBytes)
	zw, _ := gzips.Get().(*gzip.Writer)
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(&body, compression); err != nil {
			return err
		}
	} else {
		zw.Reset(&body)
	}
	// The Unix epoch is gzip's "no modification time" (0, as compress/gzip
	// writes for the zero time). klauspost/compress's writer would write
	// the zero time.Time as a date in 2042.
	zw.ModTime = time.Unix(0, 0)
	defer func() {
		zw.Reset(nil) // do not keep the body alive from the pool
		gzips.Put(zw)
	}()
	if err := writeBody(zw, toFileBody(s)); err != nil {
		return fmt.Errorf("state: encode: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("state: compress: %w", err)
	}
	sum := sha256.Sum256(body.Bytes())
	header, err := json.Marshal(fileHeader{
		Format:     formatName,
		Version:    FormatVersion,
		BodyBytes:  body.Len(),
		BodySHA256: hex.EncodeToString(sum[:]),
	})
	if err != nil {
		return err
	}
	if _, err := w.Write(append(header, '\n')); err != nil {
		return err
	}
	_, err = w.Write(body.Bytes())
	return err
}

// Encoder writes states in the state file format, for stores other than
// Dir (one kept in Kafka, for instance) so that every field of State travels
// the same way whatever keeps it. Its zero value is ready to use; it is safe
// for concurrent use and reuses its compressors across calls.
type Encoder struct {
	gzips sync.Pool // *gzip.Writer
}

// Encode writes the state file content of s (header line, then body) to w.
func (e *Encoder) Encode(w io.Writer, s State) error {
	return encodeState(w, s, &e.gzips)
}

// Decode checks and decodes data written by Encoder.Encode or Dir.Save.
// Every failure is a *CorruptError or a *VersionError whose Path is name,
// which says where the data came from.
func Decode(name string, data []byte) (State, error) {
	return decodeState(name, data)
}

// rowsMember is how encoding/json writes a nil rows slice. No other bytes
// of a body can read like it: a string value cannot hold an unescaped
// quote, and no other member is named rows.
var rowsMember = []byte(`"rows":null`)

// flushBytes is how much of the rows writeBody buffers before it writes.
const flushBytes = 64 << 10

// writeBody writes content to w exactly as json.NewEncoder(w).Encode does
// (TestWriteBodyMatchesEncodingJSON), with the rows, nearly all of the
// bytes, written here: encoding/json re-scans what each row's metrics
// MarshalJSON returns, which was most of the time of saving a large window,
// and holds the whole text in memory before writing any of it.
func writeBody(w io.Writer, content fileBody) error {
	// The rest goes through encoding/json with the rows left out, then the
	// rows are put where each "rows":null is: the windows' in order, then
	// the pending window's, then its base snapshot's.
	var rows [][]fetch.Row
	content.Windows = slices.Clone(content.Windows) // nil stays nil
	for i := range content.Windows {
		rows = append(rows, content.Windows[i].Rows)
		content.Windows[i].Rows = nil
	}
	if content.Pending != nil {
		p := *content.Pending
		rows = append(rows, p.Rows)
		p.Rows = nil
		if p.Base != nil && p.Base.Snapshot != nil {
			base, snap := *p.Base, *p.Base.Snapshot
			rows = append(rows, snap.Rows)
			snap.Rows = nil
			base.Snapshot = &snap
			p.Base = &base
		}
		content.Pending = &p
	}
	rest, err := json.Marshal(content)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, flushBytes+4096)
	for _, r := range rows {
		at := bytes.Index(rest, rowsMember)
		if at < 0 {
			return fmt.Errorf("%d sets of rows but fewer rows members in %q", len(rows), rest)
		}
		buf = append(buf, rest[:at+len(`"rows":`)]...)
		rest = rest[at+len(rowsMember):]
		if buf, err = writeRows(w, buf, r); err != nil {
			return err
		}
	}
	buf = append(append(buf, rest...), '\n')
	_, err = w.Write(buf)
	return err
}

// writeRows appends the JSON of rows to buf, writing buf to w and emptying
// it whenever it holds flushBytes, and returns what is left in it.
func writeRows(w io.Writer, buf []byte, rows []fetch.Row) ([]byte, error) {
	if rows == nil {
		return append(buf, "null"...), nil
	}
	buf = append(buf, '[')
	var err error
	for i := range rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(append(buf, `{"dnis":`...), rows[i].DNIS)
		if buf, err = rows[i].Metrics.AppendJSON(append(buf, `,"metrics":`...)); err != nil {
			return buf, err
		}
		buf = append(buf, '}')
		if len(buf) >= flushBytes {
			if _, err := w.Write(buf); err != nil {
				return buf, err
			}
			buf = buf[:0]
		}
	}
	return append(buf, ']'), nil
}

// appendString appends s as encoding/json writes a string. A DNIS is
// digits, or hex when pseudonymized; anything else goes through
// encoding/json for its exact escaping.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(b, quoted...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// decodeState checks and decodes the content of the file at path. Every
// failure is a *CorruptError or a *VersionError naming path.
func decodeState(path string, file []byte) (State, error) {
	corrupt := func(reason string, err error) (State, error) {
		return State{}, &CorruptError{Path: path, Reason: reason, Err: err}
	}
	if len(file) == 0 {
		return corrupt("it is empty", nil)
	}
	headerEnd := bytes.IndexByte(file[:min(len(file), maxHeaderBytes)], '\n')
	if headerEnd < 0 {
		return corrupt("it has no header line (not a skill6pub state file, or cut short)", nil)
	}
	var h fileHeader
	if err := json.Unmarshal(file[:headerEnd], &h); err != nil {
		return corrupt("its header line is not valid JSON", err)
	}
	if h.Format != formatName {
		return corrupt(fmt.Sprintf("its header says format %q, not %q", h.Format, formatName), nil)
	}
	if h.Version != FormatVersion {
		return State{}, &VersionError{Path: path, Version: h.Version}
	}
	body := file[headerEnd+1:]
	if len(body) < h.BodyBytes {
		return corrupt(fmt.Sprintf("it is truncated: %d of %d body bytes", len(body), h.BodyBytes), nil)
	}
	if len(body) > h.BodyBytes {
		return corrupt(fmt.Sprintf("it has %d bytes after the %d-byte body", len(body)-h.BodyBytes, h.BodyBytes), nil)
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != h.BodySHA256 {
		return corrupt("its checksum does not match its content", nil)
	}
	// The checksum matched, so a failure from here on is a bug in the writer
	// rather than damage on disk; it is still reported against the file.
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return corrupt("its body is not gzip", err)
	}
	var content fileBody
	if err := json.NewDecoder(zr).Decode(&content); err != nil {
		return corrupt("its body does not decode", err)
	}
	st := State{
		Key:     Key{Operation: content.Key.Operation, SkillID: content.Key.SkillID},
		Windows: content.Windows,
		Pending: content.Pending.pending(),
	}
	for _, span := range content.Published {
		st.Published = append(st.Published, Span(span))
	}
	return st, nil
}
