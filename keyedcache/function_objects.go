package keyedcache

import (
	"bytes"

	"keyedcache.dev/keyedcache/backend"
)

// The methods in this file tell packages built on the cache (package
// function, for one) how its entries are kept, so that they can take the
// cheap path where there is one, without looking at the backend
// themselves.

// InProcess reports whether the cache keeps its entries in this process
// (memory://): a read then costs no round trip and never waits on a
// server, and no other process shares the entries.
func (c *Cache) InProcess() bool {
	_, ok := c.b.(backend.ObjectStore)
	return ok
}

// ByReference reports whether the cache keeps Go values by reference
// (memory:// with by_reference=true): a value stored with Set is then the
// very value every read returns.
func (c *Cache) ByReference() bool { return c.objects != nil }

// GetObject returns, in by-reference mode, what is stored under key: the
// value Set stored by reference as obj, or the stored form as raw (for
// an entry written as bytes, by SetBytes, AddBytes or CompareAndSwap),
// which the caller must not modify. key must be a key as Key builds it;
// it is not built again. In copy mode, while the cache is disabled, or
// while a queued invalidation covers key, it finds nothing. Like
// GetBytes it is not counted as a hit or a miss.
func (c *Cache) GetObject(key string) (obj any, raw []byte, found bool) {
	if c.objects == nil || !c.enabled.Load() || !c.pend.idle() && c.pend.covers(key) {
		return nil, nil, false
	}
	return c.objects.GetObject(key)
}

// A KeyHead is a key prepared to be continued: packages built on the
// cache (package function, for one) build many keys under one head, and
// KeyAfter continues it without going through the head's text again.
type KeyHead struct {
	key   string
	part  any  // key, boxed once, as a part for Key
	plain bool // Key copies key as it is when it comes first: KeyAfter may append to it
}

// KeyHead returns the key Key builds from parts, prepared for KeyAfter.
func (c *Cache) KeyHead(parts ...any) KeyHead {
	k := c.Key(parts...)
	return KeyHead{key: k, part: k, plain: k != emptyMarker && !c.unkeyable(k) && isBuiltKey(c.prefix, k)}
}

// Key returns the key itself.
func (h KeyHead) Key() string { return h.key }

// KeyAfter returns c.Key(h.Key(), parts...), the key h continued by
// parts. Parts that are strings, numbers, booleans, times, durations,
// byte slices or nil are appended to the head as it is; any other part
// takes Key's own way. h must come from c (or a cache of the same key
// prefix).
func (c *Cache) KeyAfter(h KeyHead, parts ...any) string {
	if !h.plain || len(parts) == 0 {
		return c.Key(append([]any{h.part}, parts...)...)
	}
	var arr [256]byte
	b := append(arr[:0], h.key...)
	for _, p := range parts {
		nb, ok := appendScalar(b, p, false)
		if !ok {
			return c.Key(append([]any{h.part}, parts...)...)
		}
		b = nb
	}
	// What Key does last. The head holds no unkeyable marker, and none
	// can begin in it and end in a part: a part begins with "::", which
	// the marker does not hold.
	if bytes.Contains(b[len(h.key):], unkeyable) {
		return c.prefix + unkeyableMarker
	}
	return fitKey(b)
}
