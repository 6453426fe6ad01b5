package memory

import (
	"context"
	"strings"
)

// checkEvery is how many keys a walk handles between looks at its
// context.
const checkEvery = 256

// DeletePrefix removes every key that starts with prefix and returns how
// many live entries it removed.
//
// Its cost is the number of keys under the longest "::"-ending head of
// prefix, found through the index, plus a lookup per index shard: for a
// prefix that ends in "::", as the core's always do, that is the number
// of keys removed. A prefix with no "::" at all has no such head and
// costs a scan of every key. Keys written while it runs may stay.
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
	keys, visited := s.candidates(prefix)
	for i, key := range keys {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return removed, visited, err
			}
		}
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		if _, existed := s.c.Invalidate(key); existed {
			removed++
		}
	}
	return removed, visited, nil
}

// ScanKeys calls fn with every live key that starts with prefix, in no
// particular order, until fn returns false; fn may call the store. The
// listing is complete, at the cost DeletePrefix documents. A key written
// or deleted while it runs may be listed or not.
func (s *Store) ScanKeys(ctx context.Context, prefix string, fn func(key string) bool) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	keys, _ := s.candidates(prefix)
	for i, key := range keys {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		if _, live := s.c.GetEntryQuietly(key); live && !fn(key) {
			break
		}
	}
	return true, nil
}

// candidates returns keys among which are all the keys that start with
// prefix, and how many keys it looked at to find them: the keys filed
// under the longest "::"-ending head of prefix, or, when prefix has no
// "::", the keys a scan of the whole cache finds to start with prefix.
func (s *Store) candidates(prefix string) (keys []string, visited int) {
	if i := strings.LastIndex(prefix, sep); i >= 0 {
		keys = s.idx.under(prefix[:i+len(sep)])
		return keys, len(keys)
	}
	for key := range s.c.Keys() {
		visited++
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	return keys, visited
}
