package schema_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
)

func TestNewDNISHasherWithoutKeyIsOff(t *testing.T) {
	h := schema.NewDNISHasher(secret.New(""))
	if h != nil {
		t.Fatal("an empty key gave a hasher")
	}
	if h.Enabled() || h.KeyID() != "" || h.Hash("573001234567") != "573001234567" {
		t.Error("a nil hasher changed the DNIS")
	}
	raw := json.RawMessage(`["573001234567"]`)
	if out, withheld := h.PseudonymizeRaw(raw); withheld || string(out) != string(raw) {
		t.Errorf("a nil hasher changed the raw row: %s", out)
	}
}

func TestDNISHasherIsHMACSHA256(t *testing.T) {
	// RFC 4231-style known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
	h := schema.NewDNISHasher(secret.New("key"))
	const want = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got := h.Hash("The quick brown fox jumps over the lazy dog"); got != want {
		t.Errorf("Hash = %s, want %s", got, want)
	}
	if !h.Enabled() || len(h.KeyID()) != 16 {
		t.Errorf("Enabled %v, KeyID %q", h.Enabled(), h.KeyID())
	}
	if schema.NewDNISHasher(secret.New("other")).KeyID() == h.KeyID() {
		t.Error("two keys share a key id")
	}
}

func TestDNISHasherConcurrentUse(t *testing.T) {
	h := schema.NewDNISHasher(secret.New("s3cr3t"))
	mac := hmac.New(sha256.New, []byte("s3cr3t"))
	want := make([]string, 50)
	for i := range want {
		mac.Reset()
		fmt.Fprintf(mac, "57300%d", i)
		want[i] = hex.EncodeToString(mac.Sum(nil))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(want))
	for range 8 {
		wg.Go(func() {
			for i, w := range want {
				if got := h.Hash(fmt.Sprintf("57300%d", i)); got != w {
					errs <- got
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Errorf("concurrent Hash gave %s", got)
	}
}

func TestDNISHasherNeverShowsItsKey(t *testing.T) {
	const key = "hunter2-key-value"
	h := schema.NewDNISHasher(secret.New(key))
	holder := struct{ Hasher *schema.DNISHasher }{h}
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		fmt.Fprintf(&out, verb+"\n", h)
		fmt.Fprintf(&out, verb+"\n", holder)
	}
	b, _ := json.Marshal(holder)
	out.Write(b)
	logger := zerolog.New(&out)
	logger.Info().Interface("hasher", h).Stringer("s", h).Msg("x")
	if strings.Contains(out.String(), key) || strings.Contains(out.String(), hex.EncodeToString([]byte(key))) {
		t.Errorf("the key leaked:\n%s", out.String())
	}
}

func TestPseudonymizeRaw(t *testing.T) {
	h := schema.NewDNISHasher(secret.New("key"))
	pseudonym := h.Hash("573001234567")
	cases := []struct {
		raw      string
		want     string
		withheld bool
	}{
		{`{"dnis":"573001234567","inbound_calls":"x"}`, `{"dnis":"` + pseudonym + `","inbound_calls":"x"}`, false},
		{`{"inbound_calls":"x","dnis":573001234567}`, `{"dnis":"` + pseudonym + `","inbound_calls":"x"}`, false},
		{`{"dnis":null,"asa":"1"}`, `{"asa":"1","dnis":null}`, false},
		{`{"asa":"1"}`, `{"asa":"1"}`, false},
		{`["573001234567","3"]`, ``, true},
		{`"573001234567"`, ``, true},
		{`null`, ``, true},
		{`{"dnis":"573001234567"`, ``, true},
	}
	for _, c := range cases {
		out, withheld := h.PseudonymizeRaw(json.RawMessage(c.raw))
		if withheld != c.withheld || string(out) != c.want {
			t.Errorf("PseudonymizeRaw(%s) = %s, %v; want %s, %v", c.raw, out, withheld, c.want, c.withheld)
		}
		if strings.Contains(string(out), "573001234567") {
			t.Errorf("PseudonymizeRaw(%s) kept the number", c.raw)
		}
	}
}
