package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// TestRetriable pins which failures the service sends again after kafka-go
// has given up: those kafka-go never retries, and nothing an operator must
// fix first.
func TestRetriable(t *testing.T) {
	noLeader := protocol.NewErrNoLeader("t", 3)
	for _, tc := range []struct {
		cause     error
		wholeCall bool
		want      bool
	}{
		{io.EOF, false, true}, // kafka-go issue #1352
		{fmt.Errorf("kafka.(*Client).Produce: %w", io.EOF), false, true},
		{io.ErrUnexpectedEOF, true, true},
		{syscall.ECONNRESET, false, true},
		{noLeader, false, true},
		{kafka.LeaderNotAvailable, true, true},   // from the metadata cache: kafka-go did not retry
		{kafka.LeaderNotAvailable, false, false}, // in a batch: kafka-go retried it already
		{kafka.NotEnoughReplicas, false, false},  // retried by kafka-go MaxAttempts times
		{kafka.TopicAuthorizationFailed, true, false},
		{fmt.Errorf("%w: x: %w", ErrUnreachable, syscall.ECONNREFUSED), true, false},
		{fmt.Errorf("%w: x: %w", ErrAuthentication, io.ErrUnexpectedEOF), true, false},
		{fmt.Errorf("%w: %w", ErrClosed, io.ErrClosedPipe), true, false},
		{context.Canceled, true, false},
	} {
		if got := retriable(tc.cause, tc.wholeCall); got != tc.want {
			t.Errorf("retriable(%v, wholeCall=%v) = %v, want %v", tc.cause, tc.wholeCall, got, tc.want)
		}
	}
	if !errors.Is(noLeader, protocol.ErrNoLeader) {
		t.Fatal("kafka-go's no-leader error no longer wraps protocol.ErrNoLeader")
	}
}
