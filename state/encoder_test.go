package state

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/fetch"
	"github.com/skill6pub/skill6pub/snapshot"
)

// TestEncoderRoundTrip holds the exported codec that other stores use: what
// Encode writes, Decode returns unchanged, and Decode names its source in
// errors.
func TestEncoderRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	want := State{
		Key:       Key{Operation: "0032", SkillID: "3"},
		Windows:   []snapshot.Snapshot{{WindowStart: at, WindowEnd: at.Add(5 * time.Minute)}},
		Pending:   &Pending{WindowStart: at.Add(5 * time.Minute), WindowEnd: at.Add(10 * time.Minute), Revision: 1, FetchedAt: at, Report: fetch.Report{NoData: true}},
		Published: []Span{{Start: at, End: at.Add(5 * time.Minute)}},
	}
	var enc Encoder
	for range 2 { // the second time reuses a pooled compressor
		var b bytes.Buffer
		if err := enc.Encode(&b, want); err != nil {
			t.Fatal(err)
		}
		got, err := Decode("topic t key k", b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v, want %+v", got, want)
		}
	}
	_, err := Decode("topic t key k", []byte("not a state\n"))
	var corrupt *CorruptError
	if !errors.As(err, &corrupt) || corrupt.Path != "topic t key k" {
		t.Fatalf("Decode of garbage: %v, want a *CorruptError naming its source", err)
	}
}
