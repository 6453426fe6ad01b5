package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// locked runs fn with key's entry while holding the key's lock, which
// excludes every writer of the key in every process sharing the
// directory.
func (s *Store) locked(ctx context.Context, key string, fn func(l loc, e entry, st state) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	l := s.locate(key)
	st, err := s.lock(ctx, l.stripe)
	if err != nil {
		return err
	}
	defer st.unlock()
	e, state, err := s.load(l.path, key)
	if err != nil {
		return fmt.Errorf("file: read: %w", err)
	}
	return fn(l, e, state)
}

// Incr adds delta to the decimal integer stored under key and returns
// the result, keeping the entry's expiry. The value must be ASCII
// decimal digits with an optional sign, within int64. A missing or
// expired key returns backend.ErrNotFound; any other value returns
// backend.ErrNotNumeric; a result beyond the int64 range returns an
// error matching backend.ErrOverflow and leaves the value as it was. It
// is atomic across processes. Like every write, it culls if the entry
// grows past MaxBytes; a result whose entry alone exceeds MaxBytes
// removes the entry, as Set does, and is returned all the same.
func (s *Store) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	var n int64
	err := s.locked(ctx, key, func(l loc, e entry, st state) error {
		if st != alive {
			return backend.ErrNotFound
		}
		v, err := strconv.ParseInt(string(e.value), 10, 64)
		if err != nil {
			return backend.ErrNotNumeric
		}
		if delta > 0 && v > math.MaxInt64-delta || delta < 0 && v < math.MinInt64-delta {
			return fmt.Errorf("%w: %d%+d", backend.ErrOverflow, v, delta)
		}
		n = v + delta
		return s.rewrite(ctx, l, key, strconv.AppendInt(nil, n, 10), e.expiry)
	})
	return n, err
}

// Touch gives a live entry a new ttl, counted from now, and returns
// backend.ErrNotFound when there is none. It rewrites the entry, so it
// costs as much as a Set of its value. It is atomic across processes.
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration) error {
	return s.locked(ctx, key, func(l loc, e entry, st state) error {
		if st != alive {
			return backend.ErrNotFound
		}
		return s.rewrite(ctx, l, key, e.value, expiryAt(s.now(), ttl))
	})
}

// CompareAndSwap stores value under key for ttl only if a live entry
// holds exactly old, and reports whether it did. It is atomic across
// processes. A value whose entry alone exceeds MaxBytes is treated as
// Set treats it: where the swap would happen, the entry is removed and
// CompareAndSwap reports true (stored and evicted at once), so that a
// caller retrying on false does not retry forever.
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	swapped := false
	err := s.locked(ctx, key, func(l loc, e entry, st state) error {
		if st != alive || !bytes.Equal(e.value, old) {
			return nil
		}
		if err := s.rewrite(ctx, l, key, value, expiryAt(s.now(), ttl)); err != nil {
			return err
		}
		swapped = true
		return nil
	})
	return swapped, err
}

// TTL returns the remaining time to live of a live entry, to the
// nanosecond; backend.NoExpiry for one that never expires; found ==
// false for a missing one. It reads only the entry's header.
func (s *Store) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if err := s.check(ctx); err != nil {
		return 0, false, err
	}
	m, err := readMeta(s.locate(key).path)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errCorrupt):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("file: ttl: %w", err)
	}
	now := s.now().UnixNano()
	if m.key != key || !live(m.expiry, now) {
		return 0, false, nil
	}
	if m.expiry == 0 {
		return backend.NoExpiry, true, nil
	}
	return time.Duration(m.expiry - now), true, nil
}
