package fetch

import (
	"strconv"
	"strings"
	"time"
)

// Kind says what went wrong with a wolkvox call, in terms of what the caller
// should do about it. Every Kind is also an error value, so that
//
//	errors.Is(err, fetch.KindQuota)   // or, equivalently, fetch.ErrQuota
//
// tests the kind of any error that Fetch or Decode returns, and
//
//	var fe *fetch.Error
//	errors.As(err, &fe) // fe.Kind, fe.Status, fe.Msg
//
// gives the details. The ErrX constants are the same values as the KindX
// constants, under the names Go programmers look for.
type Kind uint8

// The kinds. Only KindBusy, KindMaintenance and KindUpstream are retried by
// Fetch; the others return at once.
const (
	// KindAuth: no token, a wrong token (HTTP 401, 403 invalid token).
	KindAuth Kind = iota + 1
	// KindQuota: the licence's daily call quota is spent (403 TOKEN LIMIT EXCEEDED).
	KindQuota
	// KindBusy: another request with the same token is in flight (403
	// simultaneous requests), or the server asks to slow down (429).
	KindBusy
	// KindMaintenance: wolkvox is in maintenance (403 or 503 saying so).
	KindMaintenance
	// KindUpstream: 5xx, network errors, no answer within the call timeout.
	KindUpstream
	// KindMalformed: the body is not JSON, has the wrong shape, or is larger
	// than the body size limit.
	KindMalformed
	// KindBadRequest: wolkvox refused the request (400: unknown api, missing
	// or bad parameters; a 404 other than "Validate dates entered"; other
	// 4xx), or Fetch was called with arguments it cannot send.
	KindBadRequest
	// KindCanceled: the caller's context ended before the call finished. The
	// error wraps ctx.Err(), so errors.Is(err, context.Canceled) works too.
	KindCanceled
)

// Sentinel names for the kinds, for errors.Is.
const (
	ErrAuth        = KindAuth
	ErrQuota       = KindQuota
	ErrBusy        = KindBusy
	ErrMaintenance = KindMaintenance
	ErrUpstream    = KindUpstream
	ErrMalformed   = KindMalformed
	ErrBadRequest  = KindBadRequest
	ErrCanceled    = KindCanceled
)

var kindNames = [...]string{
	KindAuth:        "auth",
	KindQuota:       "quota",
	KindBusy:        "busy",
	KindMaintenance: "maintenance",
	KindUpstream:    "upstream",
	KindMalformed:   "malformed",
	KindBadRequest:  "bad_request",
	KindCanceled:    "canceled",
}

// String returns the kind's short name, also used as the outcome label of
// the fetch metrics: auth, quota, busy, maintenance, upstream, malformed,
// bad_request, canceled.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Error makes a Kind usable as a sentinel with errors.Is.
func (k Kind) Error() string { return "wolkvox " + k.String() + " error" }

// Retriable reports whether a call that failed with this kind is worth
// trying again after a pause.
func (k Kind) Retriable() bool {
	switch k {
	case KindBusy, KindMaintenance, KindUpstream:
		return true
	}
	return false
}

// Error is the error type of this package. It never contains the token.
type Error struct {
	Kind   Kind
	Op     string // what was being done, e.g. `skill_6 skill=12 date_ini=20240101000000 date_end=20240101000459`
	Status int    // the HTTP status or the body's code; 0 when there was no answer
	Msg    string // what happened and what to do, for an operator
	Err    error  // the underlying error, if any

	retryAfter time.Duration // the server's Retry-After, 0 when it sent none
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("wolkvox")
	if e.Op != "" {
		b.WriteString(" ")
		b.WriteString(e.Op)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteString(")")
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, fetch.KindX) true for an *Error of kind X.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// Retriable reports whether the call is worth trying again after a pause.
func (e *Error) Retriable() bool { return e.Kind.Retriable() }
