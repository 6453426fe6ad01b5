package keyheap_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/internal/keyheap"
)

type run struct{ keys []string }

func (r *run) Head() string { return r.keys[0] }

// merge passes on every key of the runs through the heap, as a listing
// does.
func merge(parts [][]string) []string {
	var rs []*run
	for _, p := range parts {
		if len(p) > 0 {
			rs = append(rs, &run{slices.Clone(p)})
		}
	}
	h := keyheap.Init(rs)
	var out []string
	for h.Len() > 0 {
		r := h.Min()
		out = append(out, r.keys[0])
		if r.keys = r.keys[1:]; len(r.keys) > 0 {
			h.Fix()
		} else {
			h.Drop()
		}
	}
	return out
}

func TestMergeGivesEveryKeyInOrder(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, parts := range []int{1, 2, 16, 256} {
		var all []string
		runs := make([][]string, parts)
		for i := range 3000 {
			k := fmt.Sprintf("%x", rnd.Uint64()>>uint(rnd.IntN(60)))
			if i%7 == 0 {
				k += "\xff"
			}
			all = append(all, k)
			p := rnd.IntN(parts)
			runs[p] = append(runs[p], k)
		}
		for _, r := range runs {
			slices.Sort(r)
		}
		slices.Sort(all)
		if d := cmp.Diff(all, merge(runs)); d != "" {
			t.Errorf("%d runs (-want +got):\n%s", parts, d)
		}
	}
}

func ExampleHeap() {
	h := keyheap.Init([]*run{{[]string{"b", "e"}}, {[]string{"a", "f"}}, {[]string{"c", "d"}}})
	for h.Len() > 0 {
		r := h.Min()
		fmt.Print(r.keys[0], " ")
		if r.keys = r.keys[1:]; len(r.keys) > 0 {
			h.Fix()
		} else {
			h.Drop()
		}
	}
	// Output: a b c d e f
}

func TestSmallestKeepsTheSmallestDistinct(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	seen := map[string]bool{}
	s := keyheap.NewSmallest(51)
	for range 5000 {
		k := fmt.Sprintf("k%d", rnd.IntN(3000)) // with repeats
		seen[k] = true
		s.Offer(k)
	}
	want := slices.Sorted(maps.Keys(seen))[:51]
	if d := cmp.Diff(want, s.Sorted()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got := keyheap.NewSmallest(0); len(got.Sorted()) != 0 {
		t.Errorf("NewSmallest(0) kept keys")
	}
}
