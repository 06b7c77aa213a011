package snapshot

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSortByDNIS compares the radix sort with a comparison sort on inputs
// that exercise its paths: shared prefixes, DNIS that are prefixes of
// others, empty DNIS, duplicates (which must keep their arrival order),
// buckets on both sides of the cutoff, bytes above 0x7f.
func TestSortByDNIS(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	inputs := map[string]func(i int) string{
		"phone numbers":    func(i int) string { return "57300" + strconv.Itoa(1_000_000+r.IntN(5000)) },
		"hex pseudonyms":   func(i int) string { return strconv.FormatUint(r.Uint64(), 16) },
		"prefixes":         func(i int) string { return strings.Repeat("5", r.IntN(12)) },
		"empty and short":  func(i int) string { return []string{"", "1", "12", "2", "", "10"}[r.IntN(6)] },
		"all equal":        func(i int) string { return "573001234567" },
		"high bytes":       func(i int) string { return string([]byte{byte(r.IntN(256)), byte(r.IntN(256))}) },
		"shared long head": func(i int) string { return strings.Repeat("x", 40) + strconv.Itoa(r.IntN(300)) },
	}
	for name, gen := range inputs {
		for _, n := range []int{0, 1, 2, radixCutoff - 1, radixCutoff, 1000, 20_000} {
			items := make([]keyed, n)
			for i := range items {
				items[i] = keyed{dnis: gen(i), index: int32(i)}
			}
			want := slices.Clone(items)
			slices.SortFunc(want, compareKeyed)
			sortByDNIS(items)
			if !slices.Equal(items, want) {
				t.Errorf("%s, %d items: radix sort differs from the comparison sort", name, n)
			}
		}
	}
}
