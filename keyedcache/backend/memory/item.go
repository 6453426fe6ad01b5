package memory

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"keyedcache.dev/keyedcache/backend"
)

// item is what the otter cache holds under a key: 32 bytes, the
// smallest Go allocation that holds what an entry needs, since a store
// of small values pays it once per entry. Its value never changes once
// stored (a write stores a new item); only a decoded form of the value
// may be attached later, see KeepDecoded. (A pointer makes otter's
// reads cheapest: it keeps one word per entry, which it loads
// atomically.)
type item struct {
	p   *byte         // the first byte of the value, owned by the store; nil when n is 0 or objLen
	n   uint32        // the length of the value, or objLen for an object
	gen uint32        // the key's index generation
	ttl time.Duration // what the expiry calculator gives the write; see expireAfter
	// ext holds the value of an object entry (set before the item is
	// stored, never changed), or the decoded form of a bytes entry
	// (attached by KeepDecoded, replaced by a later one).
	ext atomic.Pointer[extra]
}

// extra is an item's Go value: the object stored by SetObject, or what
// the core decoded the bytes into.
type extra struct{ v any }

// objLen is the n of an item that holds an object, not bytes.
const objLen = math.MaxUint32

// maxValueLen is the largest value a store keeps.
const maxValueLen = objLen - 1

// empty is the bytes of an empty value: not nil, so that GetObject
// tells it from an object.
var empty = []byte{}

// newItem returns an item holding a copy of value, or an error
// matching backend.ErrTooLarge for a value of 4 GiB or more.
func newItem(value []byte, ttl time.Duration) (*item, error) {
	if uint64(len(value)) > maxValueLen {
		return nil, fmt.Errorf("memory: a value of %d bytes: %w (the most is %d)", len(value), backend.ErrTooLarge, uint64(maxValueLen))
	}
	it := &item{n: uint32(len(value)), ttl: ttl}
	if len(value) > 0 {
		c := make([]byte, len(value))
		copy(c, value)
		it.p = &c[0]
	}
	return it, nil
}

// ownItem returns an item holding b itself, which the caller gives up.
func ownItem(b []byte, ttl time.Duration, gen uint32) *item {
	it := &item{n: uint32(len(b)), ttl: ttl, gen: gen}
	if len(b) > 0 {
		it.p = &b[0]
	}
	return it
}

// objectItem returns an item holding the object v.
func objectItem(v any, ttl time.Duration) *item {
	it := &item{n: objLen, ttl: ttl}
	it.ext.Store(&extra{v: v})
	return it
}

// isObj reports whether it holds an object rather than bytes.
func (it *item) isObj() bool { return it.n == objLen }

// bytes returns the value, the store's own slice (never nil), which
// nobody may modify; nil for an object.
func (it *item) bytes() []byte {
	switch {
	case it.n == objLen:
		return nil
	case it.n == 0:
		return empty
	}
	return unsafe.Slice(it.p, it.n)
}

// obj returns the object of an object entry.
func (it *item) obj() any {
	if e := it.ext.Load(); e != nil {
		return e.v
	}
	return nil
}

// size returns the length of the value; 0 for an object.
func (it *item) size() int {
	if it.n == objLen {
		return 0
	}
	return int(it.n)
}

// withTTL returns a copy of it with a new ttl: the same value, the same
// generation and the same decoded form.
func (it *item) withTTL(ttl time.Duration) *item {
	next := &item{p: it.p, n: it.n, gen: it.gen, ttl: ttl}
	next.ext.Store(it.ext.Load())
	return next
}
