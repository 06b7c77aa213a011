package fetch

import (
	"time"

	"github.com/skill6pub/skill6pub/secret"
)

// Config is the wolkvox side of the service's configuration, read from the
// environment. Each field's default is in its tag.
type Config struct {
	// Server is the operation's 4-digit wolkvox server id (e.g. 0032); the
	// API URL is https://wv{Server}.wolkvox.com/api/v2/reports_manager.php.
	Server string `envconfig:"WOLKVOX_SERVER" desc:"4-digit wolkvox server id of the operation (e.g. 0032)"`
	// BaseURL, when set, replaces the URL built from Server (simulator, proxy).
	BaseURL string `envconfig:"WOLKVOX_BASE_URL" desc:"overrides the API URL built from WOLKVOX_SERVER: the whole URL, path included (e.g. http://127.0.0.1:8089/api/v2/reports_manager.php)"`
	// Token is the wolkvox-token; TokenFile is read instead when set.
	Token     secret.String `envconfig:"WOLKVOX_TOKEN" desc:"wolkvox API token (or use WOLKVOX_TOKEN_FILE)"`
	TokenFile string        `envconfig:"WOLKVOX_TOKEN_FILE" desc:"file holding the wolkvox API token"`
	// TimeZone is the IANA zone in which wolkvox reads date_ini/date_end.
	TimeZone string `envconfig:"WOLKVOX_TIMEZONE" default:"America/Bogota" desc:"IANA time zone of the operation; windows align to it and dates are sent in it"`
	// DailyQuota is the licence's daily call quota (0: not enforced).
	DailyQuota int `envconfig:"WOLKVOX_DAILY_QUOTA" default:"1000" desc:"daily API call quota of the licence, shared by all its tokens (0 disables the check)"`
	// Timeout bounds one HTTP call; wolkvox cuts calls at 60 s.
	Timeout time.Duration `envconfig:"WOLKVOX_TIMEOUT" default:"65s" desc:"timeout of one API call (wolkvox stops at 60s)"`
	// MaxAttempts is the number of tries of one call for retriable errors.
	MaxAttempts int `envconfig:"WOLKVOX_MAX_ATTEMPTS" default:"5" desc:"tries per API call for retriable errors (5xx, timeouts, busy, maintenance)"`
	// MaxBodyBytes bounds the size of one response body.
	MaxBodyBytes int64 `envconfig:"WOLKVOX_MAX_BODY_BYTES" default:"67108864" desc:"largest response body accepted, in bytes"`
}
