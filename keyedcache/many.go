package keyedcache

import (
	"context"
)

// getManyRaw reads the stored forms of keys (already built) in one round
// trip where the backend allows, returning them by key.
func (c *Cache) getManyRaw(ctx context.Context, keys []string) (map[string][]byte, error) {
	if !c.gens {
		return c.backendGetMany(ctx, keys)
	}
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		pk, err := c.physical(ctx, k, false)
		if err != nil {
			return out, err
		}
		if pk == "" {
			continue
		}
		data, found, err := c.b.Get(ctx, pk)
		if err != nil {
			return out, err
		}
		if found {
			out[k] = data
		}
	}
	return out, nil
}

// backendGetMany reads backend keys as they are, in one round trip where
// the backend allows, else one by one.
func (c *Cache) backendGetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if c.multi != nil {
		return c.multi.GetMany(ctx, keys)
	}
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		data, found, err := c.b.Get(ctx, k)
		if err != nil {
			return out, err
		}
		if found {
			out[k] = data
		}
	}
	return out, nil
}

// SetMany stores every item (keys as for Set) with one TTL, in one round
// trip where the backend allows. Like Set, it returns an error only for a
// value that cannot be encoded.
func (c *Cache) SetMany(ctx context.Context, items map[string]any, opts ...SetOption) error {
	if !c.enabled.Load() {
		return nil
	}
	ttl, live := c.backendTTL(opts)
	enc := make(map[string][]byte, len(items))
	for k, v := range items {
		data, err := encodeValue(c.codec, v)
		if err != nil {
			return err
		}
		enc[c.keyFor(k)] = data
	}
	if !live {
		keys := make([]string, 0, len(enc))
		for k := range enc {
			keys = append(keys, k)
		}
		_, err := c.DeleteMany(ctx, keys...)
		return err
	}
	s := c.stats.shard()
	s.sets.Add(uint64(len(enc)))
	var err error
	if c.multi != nil && !c.gens {
		err = c.multi.SetMany(ctx, enc, ttl)
	} else {
		for k, data := range enc {
			var pk string
			if pk, err = c.physical(ctx, k, true); err == nil {
				err = c.b.Set(ctx, pk, data, ttl)
			}
			if err != nil {
				break
			}
		}
	}
	if err != nil {
		c.fail("set_many", "", err)
	}
	c.tiersWroteMany(ctx, enc, ttl, err == nil)
	return nil
}

// DeleteMany removes the entries for keys (as for Set) and returns how
// many existed.
func (c *Cache) DeleteMany(ctx context.Context, keys ...string) (int, error) {
	built := make([]string, len(keys))
	for i, k := range keys {
		built[i] = c.keyFor(k)
	}
	c.stats.shard().deletes.Add(uint64(len(built)))
	if c.multi != nil && !c.gens {
		n, err := c.multi.DeleteMany(ctx, built)
		if err != nil {
			c.fail("delete_many", "", err)
		}
		c.tiersForget(ctx, err == nil, built...)
		return n, err
	}
	n := 0
	for i, k := range built {
		existed, err := c.deleteKeyRaw(ctx, k)
		if err != nil {
			c.tiersForget(ctx, i > 0, built[:i]...)
			c.tiersForget(ctx, false, built[i:]...)
			return n, err
		}
		if existed {
			n++
		}
	}
	c.tiersForget(ctx, true, built...)
	return n, nil
}
