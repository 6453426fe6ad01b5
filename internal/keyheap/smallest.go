package keyheap

import (
	"container/heap"
	"slices"
)

// Smallest keeps the n smallest distinct keys offered to it: a page of
// keys out of a listing in no order, holding only the page.
type Smallest struct {
	n    int
	keys maxKeys
	in   map[string]struct{}
}

// NewSmallest returns a Smallest that keeps n keys.
func NewSmallest(n int) *Smallest {
	return &Smallest{n: n, in: make(map[string]struct{}, n)}
}

// N returns how many keys s keeps at most.
func (s *Smallest) N() int { return s.n }

// Offer keeps key if it is among the n smallest offered so far.
func (s *Smallest) Offer(key string) {
	if _, dup := s.in[key]; dup {
		return
	}
	switch {
	case len(s.keys) < s.n:
		heap.Push(&s.keys, key)
	case s.n > 0 && key < s.keys[0]:
		delete(s.in, s.keys[0])
		s.keys[0] = key
		heap.Fix(&s.keys, 0)
	default:
		return
	}
	s.in[key] = struct{}{}
}

// Sorted returns the keys kept, in order. s must not be used after.
func (s *Smallest) Sorted() []string {
	slices.Sort(s.keys)
	return s.keys
}

// maxKeys is a max-heap of keys: the largest kept is the first to go.
type maxKeys []string

// Len, Less, Swap, Push and Pop make maxKeys a container/heap.
func (h maxKeys) Len() int           { return len(h) }
func (h maxKeys) Less(i, j int) bool { return h[i] > h[j] }
func (h maxKeys) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxKeys) Push(x any)        { *h = append(*h, x.(string)) }
func (h *maxKeys) Pop() any {
	old := *h
	k := old[len(old)-1]
	*h = old[:len(old)-1]
	return k
}
