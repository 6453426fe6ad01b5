package memory

import (
	"bytes"
	"context"
	"math"
	"strconv"
	"time"

	"github.com/maypok86/otter/v2"

	"keyedcache.dev/keyedcache/backend"
)

// Each method in this file reads and rewrites one entry atomically,
// under otter's lock of the key (Compute). A rewrite of a live entry
// keeps the entry's index generation: the key stays where it is filed.

// Incr adds delta to the decimal integer stored under key and returns
// the result, keeping the entry's deadline. A missing key returns
// backend.ErrNotFound; a value that is not an ASCII decimal int64 (an
// object stored by SetObject included) returns backend.ErrNotNumeric; a
// result beyond the int64 range returns ErrOverflow. In each of these
// cases the entry is left as it was.
func (s *Store) Incr(_ context.Context, key string, delta int64) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	var (
		n    int64
		err  = backend.ErrNotFound
		next *item
	)
	s.c.Compute(key, func(cur *item, found bool) (*item, otter.ComputeOp) {
		if !found {
			return cur, otter.CancelOp
		}
		v, perr := strconv.ParseInt(string(cur.bytes()), 10, 64)
		if cur.isObj() || perr != nil {
			err = backend.ErrNotNumeric
			return cur, otter.CancelOp
		}
		sum := v + delta
		if (delta > 0 && sum < v) || (delta < 0 && sum > v) {
			err = ErrOverflow
			return cur, otter.CancelOp
		}
		n, err = sum, nil
		next = ownItem(strconv.AppendInt(nil, sum, 10), keepTTL, cur.gen)
		return next, otter.WriteOp
	})
	if next != nil {
		s.wrote(key, next, false)
	}
	return n, err
}

// CompareAndSwap stores a copy of value under key for ttl only if the
// live entry's bytes equal old, and reports whether it did. A missing
// key, or an entry stored by SetObject, never matches.
func (s *Store) CompareAndSwap(_ context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	next, err := newItem(value, ttl)
	if err != nil {
		return false, err
	}
	swapped := false
	s.c.Compute(key, func(cur *item, found bool) (*item, otter.ComputeOp) {
		if !found || cur.isObj() || !bytes.Equal(cur.bytes(), old) {
			return cur, otter.CancelOp
		}
		swapped = true
		if ttl < 0 {
			return cur, otter.InvalidateOp
		}
		next.gen = cur.gen
		return next, otter.WriteOp
	})
	if swapped && ttl >= 0 {
		s.wrote(key, next, false)
	}
	return swapped, nil
}

// Touch gives the live entry under key a new ttl, counted from now
// (NoExpiry: for ever; negative: expire now). It returns
// backend.ErrNotFound when there is none.
func (s *Store) Touch(_ context.Context, key string, ttl time.Duration) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var (
		touched bool
		next    *item
	)
	s.c.Compute(key, func(cur *item, found bool) (*item, otter.ComputeOp) {
		if !found {
			return cur, otter.CancelOp
		}
		touched = true
		if ttl < 0 {
			return cur, otter.InvalidateOp
		}
		next = cur.withTTL(ttl)
		return next, otter.WriteOp
	})
	if !touched {
		return backend.ErrNotFound
	}
	if next != nil {
		s.wrote(key, next, false)
	}
	return nil
}

// TTL returns the time the live entry under key has left, NoExpiry if
// it never expires, and found == false if there is none.
func (s *Store) TTL(_ context.Context, key string) (time.Duration, bool, error) {
	if s.closed.Load() {
		return 0, false, ErrClosed
	}
	e, ok := s.c.GetEntryQuietly(key)
	if !ok {
		return 0, false, nil
	}
	if e.ExpiresAtNano == math.MaxInt64 {
		return backend.NoExpiry, true, nil
	}
	return e.ExpiresAfter(), true, nil
}
