package memory

import "context"

// checkEvery is how many keys a walk handles between looks at its
// context.
const checkEvery = 256

// DeletePrefix removes every key that starts with prefix and returns how
// many live entries it removed.
//
// Its cost is the keys it removes, found through the index, plus a seek
// per index shard, whatever the prefix and however many other keys the
// store holds. Keys written while it runs may stay.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	removed, _, err := s.deletePrefix(ctx, prefix)
	return removed, err
}

// deletePrefix is DeletePrefix that also returns how many keys it
// visited, for the tests to check the cost.
func (s *Store) deletePrefix(ctx context.Context, prefix string) (removed, visited int, err error) {
	if s.closed.Load() {
		return 0, 0, ErrClosed
	}
	keys := s.idx.under(prefix)
	visited = len(keys)
	for i, key := range keys {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return removed, visited, err
			}
		}
		if _, existed := s.c.Invalidate(key); existed {
			removed++
		}
	}
	return removed, visited, nil
}

// ScanKeys calls fn with every live key that starts with prefix, in no
// particular order, until fn returns false; fn may call the store. The
// listing is complete, at the cost DeletePrefix documents, and it holds
// every key under prefix in memory while it runs: to read a page, use
// ScanKeysAfter. A key written or deleted while it runs may be listed or
// not.
func (s *Store) ScanKeys(ctx context.Context, prefix string, fn func(key string) bool) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	keys := s.idx.under(prefix)
	for i, key := range keys {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		if _, live := s.c.GetEntryQuietly(key); live && !fn(key) {
			break
		}
	}
	return true, nil
}

// ScanKeysAfter calls fn, in byte order, with every live key that
// starts with prefix and sorts after after ("" lists from the first),
// until fn returns false; fn may call the store. It reads the index a
// batch at a time from a seek in each shard, so a page of keys costs the
// page (and a seek per shard), however many keys the store holds. A key
// written or deleted while it runs may be listed or not.
func (s *Store) ScanKeysAfter(ctx context.Context, prefix, after string, fn func(key string) bool) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	var err error
	n := 0
	s.idx.sorted(prefix, after, func() bool {
		if n++; n%checkEvery == 0 {
			err = ctx.Err()
		}
		return err == nil
	}, func(key string) bool {
		if _, live := s.c.GetEntryQuietly(key); live {
			return fn(key)
		}
		return true
	})
	return err == nil, err
}
