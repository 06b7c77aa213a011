package schema

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"sync"

	"github.com/skill6pub/skill6pub/secret"
)

// keyIDMessage is what KeyID authenticates: a fixed text, so that the id
// depends on the key alone.
const keyIDMessage = "skill6pub.dnis_key_id.v1"

// DNISHasher replaces callers' numbers by a keyed HMAC-SHA256 of them (64
// lower-case hex characters), so that the same caller keeps the same
// pseudonym, and repeat callers stay visible, without the number leaving
// the service. The key is the UTF-8 bytes of DNIS_HMAC_KEY.
//
// A nil *DNISHasher is valid and leaves every DNIS as received. A
// DNISHasher is safe for concurrent use, and never prints its key.
type DNISHasher struct {
	key   secret.String
	keyID string
	macs  sync.Pool // of *mac: hmac.New derives the key pads once per MAC
}

// NewDNISHasher returns a hasher for key, or nil (no hashing) when key is
// empty.
func NewDNISHasher(key secret.String) *DNISHasher {
	if key.IsZero() {
		return nil
	}
	h := &DNISHasher{key: key}
	h.macs.New = func() any {
		return &mac{hash: hmac.New(sha256.New, []byte(h.key.Reveal())), sum: make([]byte, 0, sha256.Size)}
	}
	h.keyID = h.Hash(keyIDMessage)[:16]
	return h
}

// Enabled reports whether DNIS are replaced.
func (h *DNISHasher) Enabled() bool { return h != nil }

// KeyID returns a short fingerprint of the key ("" without hashing). It is
// kept with each snapshot so that a window is never compared with one whose
// DNIS were pseudonymized with another key (or not at all). It reveals
// nothing of the key that the published pseudonyms do not.
func (h *DNISHasher) KeyID() string {
	if h == nil {
		return ""
	}
	return h.keyID
}

// PseudonymLength is the length of a pseudonym: 64 hex characters.
const PseudonymLength = 2 * sha256.Size

// Hash returns the pseudonym of dnis, or dnis itself when h is nil.
func (h *DNISHasher) Hash(dnis string) string {
	if h == nil {
		return dnis
	}
	var out [PseudonymLength]byte
	return string(h.AppendHash(out[:0], dnis))
}

// AppendHash appends the pseudonym of dnis to dst (dnis itself when h is
// nil), so that many pseudonyms can share one allocation.
func (h *DNISHasher) AppendHash(dst []byte, dnis string) []byte {
	if h == nil {
		return append(dst, dnis...)
	}
	m := h.macs.Get().(*mac)
	m.hash.Reset()
	m.in = append(m.in[:0], dnis...)
	m.hash.Write(m.in)
	m.sum = m.hash.Sum(m.sum[:0])
	dst = hex.AppendEncode(dst, m.sum)
	h.macs.Put(m)
	return dst
}

// mac is an HMAC with buffers, so that hashing a DNIS allocates only the
// result.
type mac struct {
	hash    hash.Hash
	in, sum []byte
}

// PseudonymizeRaw returns a rejected row's raw JSON with its "dnis" member
// replaced by the pseudonym: of the string when it is one, of its JSON text
// otherwise (a number is still a phone number). A row that is not a JSON
// object cannot be searched for its number, so it is withheld (nil, true)
// rather than leak it. With a nil h the row is returned as it is.
func (h *DNISHasher) PseudonymizeRaw(raw json.RawMessage) (out json.RawMessage, withheld bool) {
	if h == nil {
		return raw, false
	}
	var members map[string]json.RawMessage
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) || json.Unmarshal(raw, &members) != nil {
		return nil, true
	}
	if v, ok := members["dnis"]; ok && string(v) != "null" {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		members["dnis"], _ = json.Marshal(h.Hash(s))
	}
	out, err := json.Marshal(members)
	if err != nil {
		return nil, true
	}
	return out, false
}

// String keeps fmt from printing the key.
func (h *DNISHasher) String() string {
	if h == nil {
		return "DNISHasher(off)"
	}
	return "DNISHasher(key " + h.keyID + ")"
}

// GoString keeps %#v from printing the key.
func (h *DNISHasher) GoString() string { return h.String() }
