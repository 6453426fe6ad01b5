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
// value that cannot be encoded; a key that a queued invalidation covers
// is not written, and the keys a failed write may have left holding
// their old values are queued as deletes, as for Set.
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
	if !c.pend.idle() {
		if c.admitMany(ctx, enc); len(enc) == 0 {
			return nil
		}
	}
	s := c.stats.shard()
	s.sets.Add(uint64(len(enc)))
	var err error
	var unsure []string // keys that may hold their old values after a failure
	if c.multi != nil && !c.gens {
		if err = c.multi.SetMany(ctx, enc, ttl); err != nil {
			for k := range enc {
				unsure = append(unsure, k)
			}
		}
	} else {
		written := make(map[string]bool, len(enc))
		for k, data := range enc {
			var pk string
			if pk, err = c.physical(ctx, k, true); err == nil {
				err = c.b.Set(ctx, pk, data, ttl)
			}
			if err != nil {
				break
			}
			written[k] = true
		}
		if err != nil {
			for k := range enc {
				if !written[k] {
					unsure = append(unsure, k)
				}
			}
		}
	}
	if err != nil {
		c.fail("set_many", "", err)
		c.failedWrite(err, unsure...)
	}
	c.tiersWroteMany(ctx, enc, ttl, err == nil)
	return nil
}

// admitMany removes from enc, and from the tiers, the keys that a queued
// invalidation covers, after one replay attempt.
func (c *Cache) admitMany(ctx context.Context, enc map[string][]byte) {
	err := c.settle(ctx)
	refused := false
	for k := range enc {
		if c.pend.covers(k) {
			delete(enc, k)
			c.tiersForget(ctx, false, k)
			refused = true
		}
	}
	if refused && err != nil {
		c.stats.shard().errors.Add(1) // as admit counts a refusal after a failed replay
	}
}

// DeleteMany removes the entries for keys (as for Set) and returns how
// many existed. Deletes that cannot reach the backend are queued and
// replayed as Delete describes; the error then matches
// ErrInvalidationPending.
func (c *Cache) DeleteMany(ctx context.Context, keys ...string) (int, error) {
	built := make([]string, len(keys))
	for i, k := range keys {
		built[i] = c.keyFor(k)
	}
	c.stats.shard().deletes.Add(uint64(len(built)))
	n, done := 0, 0 // done: built[:done] reached the backend
	err := c.settle(ctx)
	switch {
	case err != nil:
	case c.multi != nil && !c.gens:
		if n, err = c.multi.DeleteMany(ctx, built); err == nil {
			done = len(built)
		}
	default:
		for _, k := range built {
			var existed bool
			if existed, err = c.deleteKeyRaw(ctx, k); err != nil {
				break
			}
			if existed {
				n++
			}
			done++
		}
	}
	if err != nil {
		c.fail("delete_many", "", err)
		ops := make([]pendOp, 0, len(built)-done)
		for _, k := range built[done:] {
			ops = append(ops, pendOp{kind: pendKey, key: k})
		}
		err = c.pend.queue(c, err, ops...)
	}
	if done > 0 {
		c.tiersForget(ctx, true, built[:done]...)
	}
	if done < len(built) {
		c.tiersForget(ctx, false, built[done:]...)
	}
	return n, err
}
