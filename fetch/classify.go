package fetch

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// verdict is what a status (the HTTP status, or the body's code under HTTP
// 200) means together with what wolkvox said.
type verdict struct {
	kind   Kind
	noData bool   // 404 "Validate dates entered": a valid window without calls
	msg    string // for an operator
}

const checkToken = "check WOLKVOX_TOKEN or WOLKVOX_TOKEN_FILE"

// classify judges a failed answer. wolkvox uses 403 for four different
// things, so its words decide between them; they are matched without regard
// to case, in English and Spanish.
func classify(status int, said string) verdict {
	said = sanitize(said)
	up := strings.ToUpper(said)
	quoted := ""
	if said != "" {
		quoted = ` (wolkvox says "` + said + `")`
	}
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(up, w) {
				return true
			}
		}
		return false
	}
	switch {
	case status == 404 && has("VALIDATE DATES ENTERED"):
		return verdict{noData: true}
	case has("SIMULT"):
		return verdict{kind: KindBusy, msg: "another request with this token was still in flight" + quoted +
			"; wolkvox serves one request per token at a time. If it persists, another program uses the same token"}
	case has("TOKEN LIMIT", "LIMIT EXCEEDED", "LIMITE DE CONSUMO", "CUOTA"):
		return verdict{kind: KindQuota, msg: "the licence's daily call quota is spent" + quoted +
			"; calls fail until wolkvox resets it. Compare the daily budget (skills x windows per day x (1 + REVISE_WINDOWS)) with WOLKVOX_DAILY_QUOTA"}
	case has("MAINTENANCE", "MANTENIMIENTO"):
		return verdict{kind: KindMaintenance, msg: "wolkvox is in maintenance" + quoted}
	case status == 401:
		return verdict{kind: KindAuth, msg: "wolkvox wants a valid token" + quoted + ": " + checkToken}
	case status == 403:
		return verdict{kind: KindAuth, msg: "wolkvox rejected the token" + quoted + ": " + checkToken +
			", and that wolkvox allows this IP address"}
	case status == 429:
		return verdict{kind: KindBusy, msg: "wolkvox asks to slow down" + quoted}
	case status == 400:
		return verdict{kind: KindBadRequest, msg: "wolkvox refused the request" + quoted + ": check SKILL_IDS and the window"}
	case status == 404:
		return verdict{kind: KindBadRequest, msg: `HTTP 404 without wolkvox's "Validate dates entered"` + quoted +
			": check WOLKVOX_BASE_URL or WOLKVOX_SERVER"}
	case status == 408 || status >= 500:
		return verdict{kind: KindUpstream, msg: "wolkvox failed to answer" + quoted}
	case status >= 400 && status < 500:
		return verdict{kind: KindBadRequest, msg: "wolkvox refused the request with status " + strconv.Itoa(status) + quoted}
	}
	return verdict{kind: KindUpstream, msg: "unexpected answer with status " + strconv.Itoa(status) + quoted}
}

// maxSaid bounds how much of wolkvox's words go into an error message.
const maxSaid = 160

// sanitize makes upstream text fit for one log line: printable, blanks
// collapsed, cut to maxSaid bytes.
func sanitize(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if b.Len()+utf8.RuneLen(r)+1 > maxSaid {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if r == '"' {
			r = '\''
		}
		b.WriteRune(r)
	}
	return b.String()
}
