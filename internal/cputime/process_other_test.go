//go:build !unix

package cputime_test

import (
	"errors"
	"testing"

	"github.com/skill6pub/skill6pub/internal/cputime"
)

func TestProcessUnsupported(t *testing.T) {
	if _, err := cputime.Process(); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Process() error = %v, want errors.ErrUnsupported", err)
	}
}
