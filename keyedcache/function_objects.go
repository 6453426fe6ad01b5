package keyedcache

import "keyedcache.dev/keyedcache/backend"

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
