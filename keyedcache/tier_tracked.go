package keyedcache

import (
	"context"
	"time"
)

// The process tier on a backend whose server tracks what this process
// reads (backend.Tracker; see NearCache). Reads that may fill the tier go
// through the tracked view, so that the server reports later changes to
// what they read; the reports arrive through invalidated.

// invalidated applies the server's reports: keys changed, or (nil)
// anything may have.
func (nt *nearTier) invalidated(keys []string) {
	if keys == nil {
		nt.flush()
		return
	}
	ops := make([]nearOp, len(keys))
	for i, k := range keys {
		ops[i] = nearOp{kind: opKey, key: k}
	}
	nt.apply(ops, false)
}

// fetchTracked is fetch through nt's tracked view, returning also the
// entry's remaining TTL. When the view fails it reads through the
// backend instead, and fill is false: the server would not report a
// change to what that read.
func (c *Cache) fetchTracked(ctx context.Context, nt *nearTier, key string) (data []byte, ttl time.Duration, fill bool, err error) {
	data, ttl, found, err := nt.tracked.Get(ctx, key)
	if err != nil { // not counted: the tier's next check fails too, and counts
		data, _, err = c.fetch(ctx, key)
		return data, 0, false, err
	}
	if !found {
		c.stats.shard().misses.Add(1)
		return nil, 0, false, &NotCachedError{Key: key}
	}
	return data, ttl, true, nil
}

// readMany reads the stored forms of keys for a many-key read that may
// fill nt (*fill): through its tracked view, with the entries' remaining
// TTLs, where it has one. When the view fails, or the tier is not to be
// filled, it reads through the backend; *fill is then false if the
// tier is tracked.
func (c *Cache) readMany(ctx context.Context, nt *nearTier, fill *bool, keys []string) (map[string][]byte, map[string]time.Duration, error) {
	if nt != nil && nt.tracked != nil && *fill {
		raw, ttls, err := nt.tracked.GetMany(ctx, keys)
		if err == nil {
			return raw, ttls, nil
		}
		*fill = false // as in fetchTracked
	}
	raw, err := c.getManyRaw(ctx, keys)
	return raw, nil, err
}
