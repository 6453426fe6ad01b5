package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// errStop ends a walk early without an error.
var errStop = errors.New("stop")

// ScanKeys calls fn with every live key that starts with prefix, in no
// particular order, until fn returns false. It walks the prefix tree
// (see tree.go) from the node of prefix's leading segments, up to its
// last "::", and reads the header of each entry found there: a prefix
// ending in "::" costs O(keys under it), whatever the directory holds;
// another prefix costs O(keys under its leading segments), and a prefix
// without "::" O(entries). The listing is complete, so complete is true
// unless err is not nil. ScanKeysAfter lists in order, a page at a time,
// for about the page's cost.
func (s *Store) ScanKeys(ctx context.Context, prefix string, fn func(key string) bool) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	err := s.walkTree(ctx, s.nodeOf(prefix), false, func(_, name string) error {
		path, _ := s.entryOfMarker(name)
		m, err := readMeta(path)
		if err != nil || !live(m.expiry, s.now().UnixNano()) || !strings.HasPrefix(m.key, prefix) {
			return nil
		}
		if !fn(m.key) {
			return errStop
		}
		return nil
	})
	if err != nil && err != errStop {
		return false, fmt.Errorf("file: scan: %w", err)
	}
	return true, nil
}

// DeletePrefix removes every entry whose key starts with prefix and
// returns how many live ones it removed. Expired and unreadable entries
// found on the way are removed too but not counted. It walks the prefix
// tree as ScanKeys does, so a prefix ending in "::" (as keyedcache's
// DeleteChildren passes) costs O(keys under it) however many entries the
// directory holds: a header read, a lock and two unlinks per key
// removed. Another prefix costs O(keys under its leading segments up to
// its last "::"), and one without "::" O(entries).
//
// Each entry is removed under its key's lock, so an Incr, Touch or
// CompareAndSwap of the key runs wholly before or wholly after its
// removal. An entry written before DeletePrefix starts is gone when it
// returns; one written while it runs may survive.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	n := 0
	err := s.walkTree(ctx, s.nodeOf(prefix), true, func(marker, name string) error {
		path, stripe := s.entryOfMarker(name)
		st, err := s.lock(ctx, stripe)
		if err != nil {
			return err
		}
		defer st.unlock()
		m, merr := readMeta(path)
		switch {
		case errors.Is(merr, fs.ErrNotExist):
			// A marker whose entry is gone: left by a crash or a cull.
		case merr != nil && !errors.Is(merr, errCorrupt):
			return merr
		case merr == nil && !strings.HasPrefix(m.key, prefix):
			return nil // another key in a node the walk passes through
		default:
			if err := s.unlink(path); err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			} else if merr == nil && live(m.expiry, s.now().UnixNano()) {
				n++
			}
		}
		// The walk removes the node once it is empty.
		if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("file: delete prefix: %w", err)
	}
	return n, nil
}

// BackendStats reports, by name: entries (live entry files), expired
// (expired or unreadable entry files not yet removed), bytes (the size of
// all entry files, as the scan found it), estimated_bytes (this Store's
// running estimate of the same, which steers its culls against
// max_bytes), temp_files, max_entries, max_bytes (0 for no byte bound),
// cull_frequency (0 for ClearWhenFull, as in the URL) and dir. It reads
// the header of every entry file, so it costs O(entries); it does not
// reset the estimate, which only New and a cull do.
func (s *Store) BackendStats(ctx context.Context) (map[string]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	now := s.now().UnixNano()
	var entries, expired, size, temps int64
	err := s.walk(ctx, func(path string, k kind) error {
		if k == kindTemp {
			temps++
			return nil
		}
		m, err := readMeta(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		size += m.size
		if err == nil && live(m.expiry, now) {
			entries++
		} else {
			expired++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("file: stats: %w", err)
	}
	cf := s.cullFrequency
	if cf == ClearWhenFull {
		cf = 0
	}
	return map[string]string{
		"entries":         strconv.FormatInt(entries, 10),
		"expired":         strconv.FormatInt(expired, 10),
		"bytes":           strconv.FormatInt(size, 10),
		"estimated_bytes": strconv.FormatInt(s.bytes.Load(), 10),
		"temp_files":      strconv.FormatInt(temps, 10),
		"max_entries":     strconv.FormatInt(s.maxEntries, 10),
		"max_bytes":       strconv.FormatInt(s.maxBytes, 10),
		"cull_frequency":  strconv.Itoa(cf),
		"dir":             s.dir,
	}, nil
}

// Ping checks that the directory exists and is writable, by creating and
// removing a temporary file in it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, tempPrefix+"ping-*")
	if err != nil {
		return fmt.Errorf("file: ping: %w", err)
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("file: ping: %w", err)
	}
	return nil
}
