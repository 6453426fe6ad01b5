package keyedcache

import "context"

// Get reads the value stored under the key built from part and parts as
// a T. A miss returns the zero T and a *NotCachedError carrying the key;
// see (*Cache).Get. The first part has a type parameter of its own only
// so that a string need not be boxed into an interface (an allocation on
// every read); Go infers it: Get[Product](ctx, c, "product", 7).
func Get[T, P any](ctx context.Context, c *Cache, part P, parts ...any) (T, error) {
	key := keyOf(c, part, parts)
	if c.objects != nil && c.enabled.Load() && c.pend.idle() {
		// By-reference fast path: no codec when the stored type is T.
		if obj, raw, found := c.objects.GetObject(key); found && raw == nil {
			if t, ok := obj.(T); ok {
				c.stats.shard().hits.Add(1)
				return t, nil
			}
		}
	}
	inTier := false // a request tier answers, or keeps what the backend gives
	if liveRequestTiers.Load() != 0 && c.objects == nil && c.enabled.Load() && !c.closed.Load() && c.pend.idle() {
		if rt, skip := tierValue(ctx); rt != nil && !skip {
			if v, found, err := requestGet[T](ctx, c, rt, key); found {
				return v, err
			}
			inTier = true
		}
	}
	if c.decoded != nil && !inTier && c.enabled.Load() && c.pend.idle() {
		// Copy mode on a store that keeps decoded values: a copy of the
		// value decoded once per write (get.go).
		if v, ok := getKept[T](c, key); ok {
			return v, nil
		}
	}
	return getDecoded[T](ctx, c, key)
}

// keyOf builds the key for a first part of any type and the rest,
// without boxing a string first part.
func keyOf[P any](c *Cache, part P, parts []any) string {
	if s, ok := any(part).(string); ok {
		return buildKeyHead(c.prefix, s, true, parts)
	}
	var arr [8]any
	return buildKey(c.prefix, append(append(arr[:0], part), parts...))
}

// getDecoded is Get's path through the codec, apart so that the value it
// decodes into is allocated only when it is needed.
func getDecoded[T any](ctx context.Context, c *Cache, key string) (T, error) {
	var v T
	err := c.get(ctx, key, &v)
	return v, err
}

// GetOr reads like Get but returns def instead of a miss.
func GetOr[T, P any](ctx context.Context, c *Cache, def T, part P, parts ...any) T {
	v, err := Get[T](ctx, c, part, parts...)
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
	if !c.enabled.Load() || c.closed.Load() {
		c.stats.shard().misses.Add(uint64(len(keys)))
		return out, c.closedErr()
	}
	built := make([]string, len(keys))
	for i, k := range keys {
		built[i] = c.keyFor(k)
	}
	if !c.pend.idle() { // queued invalidations: their keys are misses (pending.go)
		keys, built = c.admitKeys(ctx, keys, built)
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
	// The tiers answer what they can; the rest is read in one go.
	var (
		rt       *requestTier
		nt       *nearTier
		tag      uint64
		fillNear bool
		tagged   bool
	)
	fetch := built
	var idx []int // fetch[j] is built[idx[j]]; nil: the same
	if c.tiersOn() {
		rt, nt = c.readTiers(ctx)
	}
	if rt != nil || nt != nil {
		fetch = make([]string, 0, len(built))
		idx = make([]int, 0, len(built))
		for i, k := range built {
			if rt != nil {
				if v, found, err := requestGet[T](ctx, c, rt, k); found {
					if err == nil {
						out[keys[i]] = v
					}
					continue
				}
			}
			if nt != nil {
				raw, hit, t, usable := nt.get(ctx, k)
				if hit {
					var v T
					if c.decodeTier(ctx, k, raw, &v, fromProcess) == nil {
						out[keys[i]] = v
						if rt != nil {
							rt.put(c, k, raw, 0)
						}
					}
					continue
				}
				if !tagged { // the earliest tag: a fill after any later invalidation is refused
					tag, fillNear, tagged = t, usable, true
				}
			}
			fetch = append(fetch, k)
			idx = append(idx, i)
		}
	}
	if len(fetch) == 0 {
		return out, nil
	}
	raw, ttls, err := c.readMany(ctx, nt, &fillNear, fetch)
	if err != nil {
		c.fail("get_many", "", err)
	}
	s := c.stats.shard()
	for j, k := range fetch {
		i := j
		if idx != nil {
			i = idx[j]
		}
		data, found := raw[k]
		if !found {
			s.misses.Add(1)
			continue
		}
		var v T
		if c.decode(ctx, k, k, data, &v) == nil {
			out[keys[i]] = v
			if rt != nil {
				rt.put(c, k, data, 0)
			}
			if fillNear {
				nt.fill(k, data, tag, ttls[k])
			}
		}
	}
	return out, err
}
