package keyedcache

// Copy mode on a backend that keeps decoded values beside their bytes
// (backend.DecodedKeeper, the memory backend): the first typed read of
// a write decodes its bytes once and keeps the value beside them, and
// every read, the first included, gets a copy made by the type's cloner
// (clone.go). A copy shares nothing a reader can change, so a change
// made by one reader never reaches the store or another reader, as with
// a decode per read, which this replaces.

// kept is a decoded value as the core keeps it beside its bytes. Only a
// read of exactly type T through the cache that decoded it takes it: a
// read into an interface must get what the codec gives, and another
// cache may use another codec.
type kept[T any] struct {
	c     *Cache
	v     T
	clone func(T) T
}

// getKept answers a typed read in copy mode from the value kept beside
// the entry's bytes, decoding and keeping it if need be. ok is false
// when the read must take the ordinary path: a miss, or bytes that do
// not decode into a T (the ordinary path decodes again and reports it).
func getKept[T any](c *Cache, key string) (v T, ok bool) {
	raw, dec, found := c.decoded.GetDecoded(key)
	if !found {
		return v, false
	}
	if k, isT := dec.(*kept[T]); isT && k.c == c {
		c.stats.shard().hits.Add(1)
		return k.clone(k.v), true
	}
	if err := decodeValue(c.codec, raw, &v); err != nil {
		var zero T
		return zero, false
	}
	clone := clonerOf[T]()
	if clone == nil { // a T decodes itself: v, just decoded, is the reader's own
		c.stats.shard().hits.Add(1)
		return v, true
	}
	c.decoded.KeepDecoded(key, raw, &kept[T]{c: c, v: v, clone: clone})
	c.stats.shard().hits.Add(1)
	return clone(v), true
}
