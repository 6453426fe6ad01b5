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
// trip where the backend allows. While the cache is disabled it stores
// nothing, but a TTL of zero or less still deletes.
//
// Its error is informational, as a cache write's failure is: a caller
// that serves its requests whatever the cache does may ignore it. It is
// nil when every item was stored — and when the backend could not be
// reached, which is counted and logged as for Set, since a cache that is
// down is no reason to fail. It is a *NotStoredError listing the keys not
// stored when items could not be stored for what they are: a value that
// cannot be encoded (ErrUnencodable), an unkeyable key (ErrUnkeyable), a
// value the backend refused (backend.ErrTooLarge). The other items are
// stored. After Close it is ErrClosed.
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
	var err error
	if c.multi != nil && !c.gens {
		err = c.multi.SetMany(ctx, enc, ttl)
	}
	if c.multi == nil || c.gens || errors.Is(err, backend.ErrTooLarge) {
		// One by one; after a refusal in one round trip, to learn which
		// items the backend refused.
		err = nil
		for k, data := range enc {
			var pk string
			if pk, err = c.physical(ctx, k, true); err == nil {
				err = c.b.Set(ctx, pk, data, ttl)
			}
			if errors.Is(err, backend.ErrTooLarge) {
				refuse(k, err)
				err = nil
				continue
			}
			if err != nil {
				break
			}
		}
	}
	if errors.Is(err, ErrClosed) {
		return err
	}
	if err != nil {
		c.fail("set_many", "", err)
	}
	for k, why := range refused {
		if _, ok := enc[k]; ok { // encoded, then refused by the backend
			c.fail("set_many", k, why)
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

// DeleteMany removes the entries for keys (as for Set) and returns how
// many existed.
func (c *Cache) DeleteMany(ctx context.Context, keys ...string) (int, error) {
	if err := c.closedErr(); err != nil {
		return 0, err
	}
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
