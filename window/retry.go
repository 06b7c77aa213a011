package window

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/clock"
	"github.com/skill6pub/skill6pub/health"
	"github.com/skill6pub/skill6pub/state"
)

// The one retry policy of a failing window, for every command. The fetch
// client retries a call's transient errors within one attempt (with
// jitter); this is the pace of attempts at the whole window.
const (
	retryFirst = 2 * time.Second
	retryMax   = time.Minute
)

// retriable is what an error says about itself when it knows whether trying
// again can help (fetch.Error does).
type retriable interface{ Retriable() bool }

// Permanent reports whether err says that retrying soon cannot help: a
// wrong token, a spent quota, a request wolkvox refuses.
func Permanent(err error) bool {
	var r retriable
	return errors.As(err, &r) && !r.Retriable()
}

// Fatal reports whether err means that this process must stop publishing
// for good: its state directory was lost, and another process may publish
// from it now (state.LostError).
func Fatal(err error) bool {
	var lost *state.LostError
	return errors.As(err, &lost)
}

// RetryDelay returns the wait before the next attempt of a window that
// failed attempt times, the last time with err, for windows of interval.
// Transient errors back off from 2s to a minute (or the interval when
// shorter); errors that say retrying will not help back off from there up
// to the interval, so that a spent quota or a revoked token is not
// hammered. Delays are deterministic: the fetch client adds jitter to its
// own retries, and the token lock spreads skills.
func RetryDelay(attempt int, err error, interval time.Duration) time.Duration {
	first, ceiling := min(retryFirst, interval), min(retryMax, interval)
	if Permanent(err) {
		first, ceiling = ceiling, max(ceiling, interval)
	}
	d := first
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// Retry calls attempt, the work of window w, until it succeeds, ctx ends,
// or it fails with an error that retrying cannot fix (a command run by hand
// then stops and says why; the live loop, which never gives up on a
// window, paces itself with RetryDelay instead), waiting RetryDelay
// between attempts. Its log lines escalate as the live loop's do
// (health.Escalation, with limit the readiness limit).
func Retry(ctx context.Context, clk clock.Clock, wlog zerolog.Logger, interval, limit time.Duration, w Window, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		if err == nil || ctx.Err() != nil || Permanent(err) || Fatal(err) {
			return err
		}
		delay := RetryDelay(n, err, interval)
		level, msg := health.Escalation(n, clk.Now().Sub(w.End), limit, false)
		wlog.WithLevel(level).Err(err).Int("attempt", n).Dur("retry_in", delay).Msg(msg)
		if clk.Sleep(ctx, delay) != nil {
			return err
		}
	}
}
