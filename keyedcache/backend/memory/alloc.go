package memory

import (
	"slices"
	"sync"
)

// allocSize returns the bytes the Go allocator takes for an object of n
// bytes without pointers: n rounded up to its size class, or to whole
// pages for a large object.
func allocSize(n int) int64 {
	if n == 0 {
		return 0
	}
	classes := sizeClasses()
	if n > classes[len(classes)-1] {
		const page = 8 << 10
		return int64((n + page - 1) / page * page)
	}
	i, _ := slices.BinarySearch(classes, n)
	return int64(classes[i])
}

// sizeClasses returns the allocator's size classes for small objects,
// in increasing order, learnt from the runtime itself: growing a slice
// rounds its capacity up to the size class of the bytes it needs.
var sizeClasses = sync.OnceValue(func() []int {
	const maxSmall = 32 << 10
	var classes []int
	for n := 1; n <= maxSmall; {
		c := cap(append([]byte(nil), make([]byte, n)...))
		classes = append(classes, c)
		n = c + 1
	}
	return classes
})
