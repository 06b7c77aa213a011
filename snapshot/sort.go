package snapshot

import (
	"cmp"
	"slices"
	"strings"
)

// keyed is a row's place in the response with the DNIS it is published
// under. Sorting these rather than the rows (160 bytes each) or bare indexes
// (a memory access per comparison) keeps the sort of 100,000 rows cheap.
type keyed struct {
	dnis  string
	index int32
}

// sortByDNIS sorts by DNIS, ties in response order so that merged rows are
// summed in a fixed order. order must arrive in response order.
//
// It is a most-significant-byte radix sort: a comparison sort spent a third
// of Diff's time comparing phone numbers that share their first digits
// (see BENCHMARKS.md), where a radix sort passes over each shared digit
// once. Counting sort passes are stable, so ties keep the arrival order.
func sortByDNIS(order []keyed) {
	if len(order) < radixCutoff {
		slices.SortFunc(order, compareKeyed)
		return
	}
	radixSort(order, make([]keyed, len(order)), sharedPrefix(order))
}

// sharedPrefix returns the length of the prefix every DNIS shares (the
// country and carrier digits of phone numbers), which the radix sort can
// skip without a pass per byte.
func sharedPrefix(order []keyed) int {
	first := order[0].dnis
	n := len(first)
	for _, k := range order[1:] {
		n = min(n, len(k.dnis))
		for i := 0; i < n; i++ {
			if k.dnis[i] != first[i] {
				n = i
				break
			}
		}
		if n == 0 {
			break
		}
	}
	return n
}

// radixCutoff is the bucket size below which a comparison sort is faster
// than another counting pass.
const radixCutoff = 48

// radixSort sorts items, whose DNIS share their first depth bytes, using
// scratch (as long as items) for the passes.
func radixSort(items, scratch []keyed, depth int) {
	for len(items) >= radixCutoff {
		// Bucket 0 holds the DNIS that end at depth; byte c goes to c+1.
		var counts [257]int
		for i := range items {
			counts[bucket(items[i].dnis, depth)]++
		}
		if counts[0] == len(items) { // all equal: already in arrival order
			return
		}
		if single := counts[bucket(items[0].dnis, depth)] == len(items); single {
			depth++ // a byte they all share: nothing to move
			continue
		}
		var starts [257]int
		for b, sum := 0, 0; b < len(counts); b++ {
			starts[b], sum = sum, sum+counts[b]
		}
		next := starts
		for i := range items {
			b := bucket(items[i].dnis, depth)
			scratch[next[b]] = items[i]
			next[b]++
		}
		copy(items, scratch)
		for b := 1; b < len(counts); b++ {
			if counts[b] > 1 {
				end := starts[b] + counts[b]
				radixSort(items[starts[b]:end], scratch[starts[b]:end], depth+1)
			}
		}
		return
	}
	slices.SortFunc(items, compareKeyed)
}

func bucket(s string, depth int) int {
	if depth >= len(s) {
		return 0
	}
	return int(s[depth]) + 1
}

func compareKeyed(a, b keyed) int {
	if c := strings.Compare(a.dnis, b.dnis); c != 0 {
		return c
	}
	return cmp.Compare(a.index, b.index)
}
