package keyedcache

import "context"

// Get reads the value stored under the key built from parts as a T. A
// miss returns the zero T and a *NotCachedError carrying the key; see
// (*Cache).Get.
func Get[T any](ctx context.Context, c *Cache, parts ...any) (T, error) {
	key := c.Key(parts...)
	if c.objects != nil && c.enabled.Load() {
		// By-reference fast path: no codec when the stored type is T.
		if obj, raw, found := c.objects.GetObject(key); found && raw == nil {
			if t, ok := obj.(T); ok {
				c.stats.shard().hits.Add(1)
				return t, nil
			}
		}
	}
	return getDecoded[T](ctx, c, key)
}

// getDecoded is Get's path through the codec, apart so that the value it
// decodes into is allocated only when it is needed.
func getDecoded[T any](ctx context.Context, c *Cache, key string) (T, error) {
	var v T
	err := c.get(ctx, key, &v)
	return v, err
}

// GetOr reads like Get but returns def instead of a miss.
func GetOr[T any](ctx context.Context, c *Cache, def T, parts ...any) T {
	v, err := Get[T](ctx, c, parts...)
	if err != nil {
		return def
	}
	return v
}

// GetMany reads many keys (as for Set) in one round trip where the
// backend allows. The result holds the hits, under the keys as given;
// misses and undecodable values are absent (an undecodable one is
// deleted and counted). The error is only ever a backend failure, and
// the hits read before it are still returned.
func GetMany[T any](ctx context.Context, c *Cache, keys ...string) (map[string]T, error) {
	out := make(map[string]T, len(keys))
	if !c.enabled.Load() {
		c.stats.shard().misses.Add(uint64(len(keys)))
		return out, nil
	}
	built := make([]string, len(keys))
	for i, k := range keys {
		built[i] = c.Key(k)
	}
	if c.objects != nil {
		for i, k := range built {
			var v T
			if c.get(ctx, k, &v) == nil {
				out[keys[i]] = v
			}
		}
		return out, nil
	}
	raw, err := c.getManyRaw(ctx, built)
	if err != nil {
		c.fail("get_many", "", err)
	}
	s := c.stats.shard()
	for i, k := range built {
		data, found := raw[k]
		if !found {
			s.misses.Add(1)
			continue
		}
		var v T
		if c.decode(ctx, k, k, data, &v) == nil {
			out[keys[i]] = v
		}
	}
	return out, err
}
