// Package keyheap merges sorted runs of keys: the backends that keep
// their keys in several sorted parts (shards, peers, directories) list
// them in order by holding each part's next keys in a Heap and passing
// on the smallest.
package keyheap

import "container/heap"

// A Run is one part's place in a merge: the keys read from it and not
// yet passed on, in order.
type Run interface {
	// Head returns the run's next key; the run holds at least one.
	Head() string
}

// Heap is a min-heap of runs by their next key. The zero value is empty
// and ready to use.
type Heap[R Run] struct{ runs runs[R] }

// Init makes a heap of the given runs, each of which holds a key.
func Init[R Run](rs []R) *Heap[R] {
	h := &Heap[R]{runs: rs}
	heap.Init(&h.runs)
	return h
}

// Len returns the number of runs in the heap.
func (h *Heap[R]) Len() int { return len(h.runs) }

// Min returns the run whose next key is the smallest.
func (h *Heap[R]) Min() R { return h.runs[0] }

// All returns the runs, Min first and the rest in no order; the caller
// must not change the order.
func (h *Heap[R]) All() []R { return h.runs }

// Fix restores the order after Min's next key has changed.
func (h *Heap[R]) Fix() { heap.Fix(&h.runs, 0) }

// Drop removes Min, once it holds no more keys.
func (h *Heap[R]) Drop() { heap.Pop(&h.runs) }

// runs is the heap.Interface under Heap.
type runs[R Run] []R

// Len, Less, Swap, Push and Pop make runs a container/heap by Head.
func (r runs[R]) Len() int           { return len(r) }
func (r runs[R]) Less(i, j int) bool { return r[i].Head() < r[j].Head() }
func (r runs[R]) Swap(i, j int)      { r[i], r[j] = r[j], r[i] }
func (r *runs[R]) Push(x any)        { *r = append(*r, x.(R)) }
func (r *runs[R]) Pop() any {
	old := *r
	x := old[len(old)-1]
	var zero R
	old[len(old)-1] = zero
	*r = old[:len(old)-1]
	return x
}
