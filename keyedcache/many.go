package keyedcache

import (
	"context"
	"errors"
	"slices"

	"keyedcache.dev/keyedcache/backend"
)

// getManyRaw reads the stored forms of keys (already built) in one round
// trip where the backend allows, returning them by key.
func (c *Cache) getManyRaw(ctx context.Context, keys []string) (map[string][]byte, error) {
	if !c.gens {
		return c.backendGetMany(ctx, keys)
	}
	return c.getManyStamped(ctx, keys)
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
// trip where the backend allows. While the cache is disabled it stores
// nothing, but a TTL of zero or less still deletes. A key that a queued
// invalidation covers is not written, and the keys a failed write may
// have left holding their old values are queued as deletes, as for Set.
//
// Its error is informational, as a cache write's failure is: a caller
// that serves its requests whatever the cache does may ignore it. It is
// nil when every item was stored — and when the backend could not be
// reached, which is counted, logged and queued as for Set, since a cache
// that is down is no reason to fail. It is a *NotStoredError listing the
// keys not stored when items could not be stored for what they are: a
// value that cannot be encoded (ErrUnencodable), an unkeyable key
// (ErrUnkeyable), a value the backend refused (backend.ErrTooLarge). The
// other items are stored. After Close it is ErrClosed.
func (c *Cache) SetMany(ctx context.Context, items map[string]any, opts ...SetOption) error {
	ttl, live := c.backendTTL(opts)
	if !live {
		keys := make([]string, 0, len(items))
		for k := range items {
			keys = append(keys, k)
		}
		_, err := c.DeleteMany(ctx, keys...)
		return err
	}
	if !c.enabled.Load() {
		return c.closedErr()
	}
	var refused map[string]error // built key → why it was not stored
	refuse := func(key string, err error) {
		if refused == nil {
			refused = map[string]error{}
		}
		refused[key] = err
	}
	enc := make(map[string][]byte, len(items))
	for k, v := range items {
		key := c.keyFor(k)
		if c.unkeyable(key) {
			refuse(key, ErrUnkeyable)
			continue
		}
		data, err := encodeValue(c.codec, v)
		if err != nil {
			refuse(key, err)
			continue
		}
		enc[key] = data
	}
	if !c.pend.idle() {
		c.admitMany(ctx, enc)
	}
	var err error
	var unsure []string // keys that may hold their old values after a failure
	if c.multi != nil && !c.gens && len(enc) > 0 {
		if err = c.multi.SetMany(ctx, enc, ttl); err != nil && !errors.Is(err, backend.ErrTooLarge) {
			for k := range enc {
				unsure = append(unsure, k)
			}
		}
	}
	if c.multi == nil || c.gens || errors.Is(err, backend.ErrTooLarge) {
		// One by one; after a refusal in one round trip, to learn which
		// items the backend refused.
		err = nil
		written := make(map[string]bool, len(enc))
		for k, data := range enc {
			err = c.writeEntry(ctx, k, data, ttl)
			if errors.Is(err, backend.ErrTooLarge) {
				refuse(k, err)
				err = nil
				continue
			}
			if err != nil {
				break
			}
			written[k] = true
		}
		if err != nil {
			for k := range enc {
				if !written[k] && refused[k] == nil {
					unsure = append(unsure, k)
				}
			}
		}
	}
	if errors.Is(err, ErrClosed) {
		return err
	}
	if err != nil {
		c.fail("set_many", "", err)
		c.failedWrite(err, unsure...)
	}
	for k, why := range refused {
		if _, ok := enc[k]; ok { // encoded, then refused by the backend
			c.fail("set_many", k, why)
			c.failedWrite(why, k) // the backend may still hold the old value
			delete(enc, k)
			c.tiersForget(ctx, false, k)
		}
	}
	c.stats.shard().sets.Add(uint64(len(enc)))
	c.tiersWroteMany(ctx, enc, ttl, err == nil)
	if refused == nil {
		return nil
	}
	ns := &NotStoredError{Causes: map[string]error{}}
	for k := range items {
		if why, ok := refused[c.keyFor(k)]; ok {
			ns.Keys = append(ns.Keys, k)
			ns.Causes[k] = why
		}
	}
	slices.Sort(ns.Keys)
	return ns
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
	if err := c.closedErr(); err != nil {
		return 0, err
	}
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
	c.inval.add(invalidation{keys: built})
	return n, err
}
