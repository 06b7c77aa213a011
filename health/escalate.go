package health

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// escalateAfter is how many attempts a window gets at warn level before a
// window that is also older than the limit is logged at error level: a
// blip during catch-up (old windows, first attempts) stays a warning.
const escalateAfter = 3

// Escalation is the rule the retry loop of a window follows: given how many
// attempts of the window failed, how long ago the window ended (age), the
// readiness limit (Limit) and whether the last error says retrying cannot
// help, it returns the level and the message of the log line.
//
// A window that fails again and again escalates from warn to error once it
// is older than the limit, the point where /readyz fails too, and the
// message says how old it is: an operator paged at error level reads what
// is late and by how much. Errors that retrying cannot fix (a wrong token,
// a spent quota) are errors from the first attempt.
func Escalation(attempts int, age, limit time.Duration, permanent bool) (zerolog.Level, string) {
	age = round(age)
	switch {
	case permanent:
		return zerolog.ErrorLevel, fmt.Sprintf("window failed (attempt %d, ended %s ago) with an error retrying cannot fix: fix what it says and the window goes out by itself; later windows wait behind it", attempts, age)
	case attempts >= escalateAfter && age > limit:
		return zerolog.ErrorLevel, fmt.Sprintf("window keeps failing: %d attempts, it ended %s ago (over %s: /readyz fails); retrying it, later windows wait behind it", attempts, age, limit)
	}
	return zerolog.WarnLevel, "window failed; retrying it, later windows wait behind it"
}
