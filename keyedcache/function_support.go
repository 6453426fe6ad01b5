package keyedcache

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// The methods in this file give packages built on the cache (package
// function's leases, for one) the stored bytes of an entry, so that they
// can keep records of their own in it and replace one only if it still
// holds what they read. Keys are as for Set: a built key, or text that is
// built into one. Unlike Set, every method returns a backend failure (it
// is counted and logged as well), because their callers decide on it.
// Reads through them go to the backend, past the first-level tiers, so
// that they see other processes' writes at once, and are not counted as
// hits or misses: the caller keeps figures of its own. Writes update the
// tiers as Set does. While the cache is disabled they find nothing and
// store nothing (a TTL of zero or less still deletes); after Close they
// return an error matching ErrClosed.
//
// While a queued invalidation covers a key (see Delete), every method
// here returns an error matching ErrInvalidationPending for it and
// stores nothing, so a caller that reads the error as "the backend is
// down" computes without storing. A SetBytes that fails is queued as a
// delete of its key, as a failed Set is; a CompareAndSwap that fails is
// not (see CompareAndSwap).

// Encode returns the stored form of v under the cache's codec: what Set
// would store, and what Decode and Get read back.
func (c *Cache) Encode(v any) ([]byte, error) {
	return encodeValue(c.codec, v)
}

// Decode decodes a stored form, as returned by GetBytes, into the value
// dst points to. Bytes it cannot decode are an error, never a panic.
func (c *Cache) Decode(data []byte, dst any) error {
	return decodeValue(c.codec, data, dst)
}

// GetBytes returns the stored form under key, or found == false.
func (c *Cache) GetBytes(ctx context.Context, key string) (data []byte, found bool, err error) {
	key = c.keyFor(key)
	if !c.enabled.Load() {
		return nil, false, c.closedErr()
	}
	if err := c.admit(ctx, key); err != nil {
		return nil, false, err
	}
	data, found, err = c.readEntry(ctx, key)
	if err != nil {
		c.fail("get", key, err)
		return nil, false, err
	}
	return data, found, nil
}

// SetBytes stores data (a stored form from Encode) under key for the
// alias's timeout or the TTL option. A TTL of zero or less deletes the
// entry, as for Set.
func (c *Cache) SetBytes(ctx context.Context, key string, data []byte, opts ...SetOption) error {
	key = c.keyFor(key)
	ttl, live := c.backendTTL(opts)
	if !live {
		_, err := c.Delete(ctx, key)
		return err
	}
	if !c.enabled.Load() {
		return c.closedErr()
	}
	if err := c.storeBytes(ctx, key, data, ttl); err != nil {
		return err
	}
	c.stats.shard().sets.Add(1)
	return nil
}

// AddBytes stores data under key only if no live entry exists, and
// reports whether it stored it; see Add.
func (c *Cache) AddBytes(ctx context.Context, key string, data []byte, opts ...SetOption) (bool, error) {
	key = c.keyFor(key)
	if !c.enabled.Load() {
		return false, c.closedErr()
	}
	ttl, live := c.backendTTL(opts)
	if !live {
		return false, nil
	}
	return c.addBytes(ctx, key, data, ttl)
}

// CompareAndSwap stores data under key only if the live entry holds
// exactly old (as GetBytes returned it), and reports whether it did. A
// missing entry never matches, so an entry deleted since it was read —
// by Delete, DeleteChildren or Clear, in any process — is not written
// back. A TTL of zero or less deletes the entry if it matches.
//
// It is atomic on backends that compare-and-swap natively. On one that
// cannot, it reads and compares, then writes: a write by another process
// between the two can be lost.
//
// A CompareAndSwap that fails queues no delete, unlike a failed Set: it
// can only have replaced the very bytes its caller read, which its
// caller knows (package function's claims, whose holder tries again, and
// whose deletion would make another process compute the result again).
func (c *Cache) CompareAndSwap(ctx context.Context, key string, old, data []byte, opts ...SetOption) (bool, error) {
	key = c.keyFor(key)
	if !c.enabled.Load() {
		return false, c.closedErr()
	}
	if err := c.admit(ctx, key); err != nil {
		c.tiersForget(ctx, false, key)
		return false, err
	}
	ttl, live := c.backendTTL(opts)
	swapped, err := c.casEntry(ctx, key, old, data, ttl, live)
	if err != nil {
		c.fail("cas", key, err)
		c.tiersForget(ctx, false, key)
		return false, err
	}
	if swapped {
		c.stats.shard().sets.Add(1)
		if live {
			c.tiersWrote(ctx, key, data, ttl, true)
		} else {
			c.tiersForget(ctx, true, key)
		}
	}
	return swapped, nil
}

// Deletes made through a Cache are counted and the last few kept, so
// that a package built on the cache (package function's flights, for
// one) can tell whether something it read or began before a moment has
// been deleted since, in this process: a computation under way must not
// answer callers that arrive after a delete of its key.

// Invalidations returns a mark for InvalidatedSince: the number of
// deletes made through c so far — Delete, DeleteMany, DeleteChildren,
// DeleteListed and Clear, and writes that delete (a TTL of zero or
// less) — whether they reached the backend or were queued.
func (c *Cache) Invalidations() uint64 { return c.inval.n.Load() }

// InvalidatedSince reports whether a delete made through c after mark
// (from Invalidations) covers key: deleted it, one of its parents with
// its children, or everything. key must be a key as Key builds it; it
// is not built again. When too many deletes came after mark to tell, it
// reports true. A delete counts once it has been made, not while it is
// under way; deletes by other processes or other Cache values are not
// seen.
func (c *Cache) InvalidatedSince(mark uint64, key string) bool {
	return c.inval.n.Load() != mark && c.inval.since(mark, key)
}

// invalLog is how many of the last deletes InvalidatedSince can tell
// apart.
const invalLog = 64

// invalidations are the deletes made through a Cache: how many, and the
// last invalLog of them.
type invalidations struct {
	n    atomic.Uint64
	mu   sync.Mutex
	last [invalLog]invalidation
}

// invalidation is one delete: of keys, of tree and its children (isTree),
// or of all.
type invalidation struct {
	keys   []string
	tree   string
	isTree bool
	all    bool
}

// add counts a delete that has been made.
func (v *invalidations) add(d invalidation) {
	v.mu.Lock()
	n := v.n.Load() + 1
	v.last[n%invalLog] = d
	v.n.Store(n)
	v.mu.Unlock()
}

// since reports whether a delete after the mark-th covers key.
func (v *invalidations) since(mark uint64, key string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := v.n.Load()
	if n < mark || n-mark > invalLog {
		return true
	}
	for i := mark + 1; i <= n; i++ {
		if v.last[i%invalLog].covers(key) {
			return true
		}
	}
	return false
}

func (d *invalidation) covers(key string) bool {
	switch {
	case d.all:
		return true
	case d.isTree:
		return beneath(key, d.tree)
	}
	return slices.Contains(d.keys, key)
}
