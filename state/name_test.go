package state

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestFileNames(t *testing.T) {
	for _, tc := range []struct {
		key  Key
		want string
	}{
		{Key{Operation: "0032", SkillID: "3"}, "live-0032-3.state"},
		{Key{Operation: "0032", SkillID: "skill_3"}, "live-0032-skill_3.state"},
		{Key{Operation: "a-b", SkillID: "c"}, "live-a%2Db-c.state"},
		{Key{Operation: "a", SkillID: "b-c"}, "live-a-b%2Dc.state"},
		{Key{Operation: "../..", SkillID: "etc/passwd"}, "live-..%2F..-etc%2Fpasswd.state"},
		{Key{Operation: "Bogotá", SkillID: "50%"}, "live-Bogot%C3%A1-50%25.state"},
		{Key{Operation: "", SkillID: ""}, "live--.state"},
		{Key{Operation: "x", SkillID: "\x00\n "}, "live-x-%00%0A%20.state"},
	} {
		if got := fileName(tc.key); got != tc.want {
			t.Errorf("fileName(%+v) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestLongKeysGetShortDistinctNames(t *testing.T) {
	long := strings.Repeat("é", 300)
	a := fileName(Key{Operation: "0032", SkillID: long + "a"})
	b := fileName(Key{Operation: "0032", SkillID: long + "b"})
	if a == b {
		t.Fatalf("two long keys share the name %q", a)
	}
	for _, name := range []string{a, b} {
		// Save adds tempPrefix and a random suffix of at most 20 digits.
		if n := len(tempPrefix + name + "-12345678901234567890"); n > 255 {
			t.Errorf("temporary name of %q is %d bytes, over the 255-byte limit", name, n)
		}
		if !strings.HasPrefix(name, "live-0032-%C3%A9%C3%A9") || !strings.Contains(name, "~") || strings.Contains(name, "%C~") {
			t.Errorf("long name %q should start readable, drop a cut escape and end in ~hash", name)
		}
	}
}

// TestKeysWithAnyCharactersStayInTheDirectory checks that a key made of
// path syntax is stored inside the state directory and read back.
func TestKeysWithAnyCharactersStayInTheDirectory(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	key := Key{Operation: "../../etc", SkillID: "a/b\\c:d x y\x00z"}
	s := olderState()
	s.Key = key
	save(t, d, s)

	if got := filepath.Dir(d.Path(key)); got != dir {
		t.Errorf("state of %+v is written in %s, want %s", key, got, dir)
	}
	assertSameState(t, load(t, d, key), s)
	if _, found, err := d.Load(liveKey); found || err != nil {
		t.Errorf("Load of another key = found %v, %v; want not found", found, err)
	}
}
