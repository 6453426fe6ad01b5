package file

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// pending is a write about to replace the entry file at path.
type pending struct {
	path  string
	size  int64 // the size of the new entry file
	old   int64 // the size of the file it replaces, 0 if none
	isNew bool  // there is no file at path, so the write adds an entry
}

// full reports whether, by this Store's estimates, the write p would
// take the directory past MaxEntries or MaxBytes.
func (s *Store) full(p pending) bool {
	return p.isNew && s.count.Load() >= s.maxEntries ||
		s.maxBytes > 0 && s.bytes.Load()+p.size-p.old > s.maxBytes
}

// makeRoom culls the directory if this Store's estimates say that the
// write p would exceed MaxEntries or MaxBytes. Writers wait for a cull in
// progress, so that they do not all scan at once. It is best effort: an
// error leaves the directory as it is.
func (s *Store) makeRoom(ctx context.Context, p pending) {
	if !s.full(p) {
		return
	}
	s.cullMu.Lock()
	defer s.cullMu.Unlock()
	if !s.full(p) {
		return // another goroutine culled while this one waited
	}
	_ = s.cull(ctx, p)
}

// victim is an entry file a cull may remove.
type victim struct {
	path  string
	key   string // "" if unreadable
	dead  bool   // expired or unreadable: removed first, always
	order int64  // expiry (math.MaxInt64 for never), then mtime
	mtime int64
	size  int64
}

// cull scans the whole directory, removes stale temporary files, and, if
// the write p would take the directory past a bound, removes entries:
// every expired or unreadable entry, then the live entries closest to
// expiry, the oldest written first among equals, until
//
//   - past MaxEntries: 1/CullFrequency of the entries are gone, and at
//     least enough to make room for p's entry if it is new;
//   - past MaxBytes: 1/CullFrequency of the bytes are freed, and at
//     least enough for p's file to fit in place of the one it replaces;
//
// or every entry for ClearWhenFull. The file p replaces is never a
// victim: removing it would free bytes that the write takes back. The
// cull resets the count and the bytes to what it found and left.
//
// It waits for no key lock (a cull may run under one, in rewrite): an
// entry a concurrent writer replaces as it is removed is simply evicted,
// which a cache may do at any time. See evict for the markers.
//
// A cull reads the header of every entry, so it costs O(entries); the
// estimates make it happen once per maxEntries/CullFrequency new entries
// or maxBytes/CullFrequency new bytes.
func (s *Store) cull(ctx context.Context, p pending) error {
	now := s.now().UnixNano()
	var vs []victim
	var n, total int64
	newEntry, old := int64(1), int64(0)
	err := s.walk(ctx, func(path string, k kind) error {
		if k == kindTemp {
			s.removeIfStale(path)
			return nil
		}
		m, err := readMeta(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		n++
		total += m.size
		if path == p.path {
			newEntry, old = 0, m.size
			return nil
		}
		v := victim{path: path, key: m.key, dead: err != nil || !live(m.expiry, now), order: m.expiry, mtime: m.mtime.UnixNano(), size: m.size}
		if v.order == 0 {
			v.order = math.MaxInt64
		}
		vs = append(vs, v)
		return nil
	})
	if err != nil {
		return err
	}
	var wantN, wantBytes int64
	if n+newEntry > s.maxEntries {
		wantN = n // ClearWhenFull
		if s.cullFrequency > 0 {
			wantN = max(n/int64(s.cullFrequency), n+newEntry-s.maxEntries)
		}
	}
	if grown := total - old + p.size; s.maxBytes > 0 && grown > s.maxBytes {
		wantBytes = total // ClearWhenFull
		if s.cullFrequency > 0 {
			wantBytes = max(total/int64(s.cullFrequency), grown-s.maxBytes)
		}
	}
	if wantN == 0 && wantBytes == 0 {
		s.count.Store(n)
		s.bytes.Store(total)
		return nil
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
	var removed, freed int64
	for _, v := range vs {
		if removed >= wantN && freed >= wantBytes && !v.dead {
			break
		}
		if err := s.evict(v); err == nil || errors.Is(err, fs.ErrNotExist) {
			removed++
			freed += v.size
		}
	}
	s.count.Store(n - removed)
	s.bytes.Store(total - freed)
	return nil
}

// evict removes a victim's entry file, and its marker in the prefix tree
// if the key's lock is free at once. A marker may be removed only under
// the lock (see tree.go), and a cull must not wait for one, so with the
// lock busy the marker stays: a marker without an entry, which the next
// DeletePrefix, ScanKeys or Clear that walks its node removes or skips.
func (s *Store) evict(v victim) error {
	var st *stripe
	if v.key != "" {
		st = s.tryLock(stripeOfName(filepath.Base(v.path)))
	}
	err := os.Remove(v.path)
	if st != nil {
		if err == nil {
			s.dropMarker(s.markerOf(loc{key: v.key, path: v.path}))
		}
		st.unlock()
	}
	return err
}
