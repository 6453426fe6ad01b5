package file

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"slices"
)

// makeRoom culls the directory if this Store's count says that one more
// entry would exceed MaxEntries. Writers wait for a cull in progress, so
// that they do not all scan at once. It is best effort: an error leaves
// the directory as it is.
func (s *Store) makeRoom(ctx context.Context) {
	if s.count.Load() < s.maxEntries {
		return
	}
	s.cullMu.Lock()
	defer s.cullMu.Unlock()
	if s.count.Load() < s.maxEntries {
		return // another goroutine culled while this one waited
	}
	_ = s.cull(ctx)
}

// victim is an entry file a cull may remove.
type victim struct {
	path  string
	dead  bool  // expired or unreadable: removed first, always
	order int64 // expiry (math.MaxInt64 for never), then mtime
	mtime int64
}

// cull scans the whole directory, removes stale temporary files, and,
// if the directory holds MaxEntries entries or more, removes some: every
// expired or unreadable entry, then the live entries closest to expiry,
// the oldest written first among equals, until 1/CullFrequency of the
// entries (and at least enough to make room for one more) are gone; or
// every entry for ClearWhenFull. It resets the count to what it found.
// It takes no key locks: an entry a concurrent writer replaces as it is
// removed is simply evicted, which a cache may do at any time.
//
// A cull reads the header of every entry, so it costs O(entries); the
// count makes it happen once per maxEntries/CullFrequency new entries.
func (s *Store) cull(ctx context.Context) error {
	now := s.now().UnixNano()
	var vs []victim
	err := s.walk(ctx, func(path string, k kind) error {
		if k == kindTemp {
			s.removeIfStale(path)
			return nil
		}
		m, err := readMeta(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		v := victim{path: path, dead: err != nil || !live(m.expiry, now), order: m.expiry, mtime: m.mtime.UnixNano()}
		if v.order == 0 {
			v.order = math.MaxInt64
		}
		vs = append(vs, v)
		return nil
	})
	if err != nil {
		return err
	}
	n := int64(len(vs))
	if n < s.maxEntries {
		s.count.Store(n)
		return nil
	}
	want := n // ClearWhenFull
	if s.cullFrequency > 0 {
		want = max(n/int64(s.cullFrequency), n-s.maxEntries+1)
	}
	slices.SortFunc(vs, func(a, b victim) int {
		if a.dead != b.dead {
			if a.dead {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.mtime, b.mtime))
	})
	removed := int64(0)
	for i, v := range vs {
		if int64(i) >= want && !v.dead {
			break
		}
		if err := os.Remove(v.path); err == nil || errors.Is(err, fs.ErrNotExist) {
			removed++
		}
	}
	s.count.Store(n - removed)
	return nil
}
