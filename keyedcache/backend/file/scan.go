package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// errStop ends a walk early without an error.
var errStop = errors.New("stop")

// ScanKeys calls fn with every live key that starts with prefix, in no
// particular order, until fn returns false. It reads the header of every
// entry file, so it costs O(entries) whatever the prefix; the listing is
// complete, so complete is true unless err is not nil. ScanKeysAfter
// lists in order, a page at a time, for about the page's cost.
func (s *Store) ScanKeys(ctx context.Context, prefix string, fn func(key string) bool) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	err := s.walk(ctx, func(path string, k kind) error {
		if k != kindEntry {
			return nil
		}
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
// returns how many live ones it removed. Expired entries under prefix
// are removed too but not counted. File names are hashes, so it reads
// the header of every entry file in the directory: it costs O(entries)
// whatever the prefix, plus a lock per entry removed.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	n := 0
	err := s.walk(ctx, func(path string, k kind) error {
		if k != kindEntry {
			return nil
		}
		m, err := readMeta(path)
		if err != nil || !strings.HasPrefix(m.key, prefix) {
			return nil
		}
		st, err := s.lock(ctx, stripeOfName(filepath.Base(path)))
		if err != nil {
			return err
		}
		defer st.unlock()
		wasLive, err := s.remove(path, m.key)
		if wasLive {
			n++
		}
		return err
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
