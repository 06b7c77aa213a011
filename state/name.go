package state

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

const (
	fileExt = ".state"
	// maxBaseLen keeps file names, and the temporary names built from them,
	// under the 255-byte limit of common file systems.
	maxBaseLen = 200
	// keptWhenHashed is how much of an over-long name is kept readable in
	// front of its hash.
	keptWhenHashed = 150
)

// fileName derives a key's file name as documented on Dir.Path. It is
// injective: parts never contain the '-' that separates them, no part can
// contain '/', and '~' appears only in hashed names (distinct up to a
// collision of 128 bits of SHA-256).
func fileName(k Key) string {
	var b strings.Builder
	b.WriteString("live-")
	escapePart(&b, k.Operation)
	b.WriteByte('-')
	escapePart(&b, k.SkillID)
	base := b.String()
	if len(base) > maxBaseLen {
		sum := sha256.Sum256([]byte(base))
		base = trimPartialEscape(base[:keptWhenHashed]) + "~" + hex.EncodeToString(sum[:16])
	}
	return base + fileExt
}

func escapePart(b *strings.Builder, s string) {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0x0F])
	}
}

// trimPartialEscape drops a %XX escape cut in the middle, for readability
// only: the hash that follows keeps the name unique either way.
func trimPartialEscape(s string) string {
	if i := strings.LastIndexByte(s, '%'); i >= 0 && i > len(s)-3 {
		return s[:i]
	}
	return s
}
