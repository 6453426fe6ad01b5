package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/maypok86/otter/v2"
)

// Get returns a copy of the value stored under key. A missing or
// expired key, or an entry stored by SetObject (which has no bytes), is
// a miss.
func (s *Store) Get(_ context.Context, key string) ([]byte, bool, error) {
	if s.closed.Load() {
		return nil, false, ErrClosed
	}
	it, ok := s.c.GetIfPresent(key)
	if !ok || it.isObj() {
		return nil, false, nil
	}
	return clone(it.bytes()), true, nil
}

// Set stores a copy of value under key for ttl (NoExpiry: for ever). A
// negative ttl, which the core never passes, expires the entry at once.
// A value of 4 GiB or more is refused with an error matching
// backend.ErrTooLarge, and the key's entry is removed.
func (s *Store) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if s.closed.Load() {
		return ErrClosed
	}
	it, err := newItem(value, ttl)
	if err != nil {
		s.c.Invalidate(key)
		return err
	}
	s.put(key, it)
	return nil
}

// Add stores a copy of value under key unless a live entry is there,
// and reports whether it did. Of many concurrent Adds of a key exactly
// one succeeds; an expired entry counts as absent.
func (s *Store) Add(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	it, err := newItem(value, ttl)
	if err != nil {
		return false, err
	}
	return s.add(key, it), nil
}

// Delete removes key and reports whether a live entry was there.
func (s *Store) Delete(_ context.Context, key string) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	_, existed := s.c.Invalidate(key)
	return existed, nil
}

// Clear removes every entry. Entries written while it runs may stay.
func (s *Store) Clear(context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.c.InvalidateAll()
	return nil
}

// GetMany returns copies of the values of the live keys among keys.
func (s *Store) GetMany(_ context.Context, keys []string) (map[string][]byte, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	found := make(map[string][]byte, len(keys))
	for _, key := range keys {
		if it, ok := s.c.GetIfPresent(key); ok && !it.isObj() {
			found[key] = clone(it.bytes())
		}
	}
	return found, nil
}

// SetMany stores a copy of every item with one ttl. A value Set would
// refuse is not stored (its key's entry is removed), and the error
// names it; the others are stored.
func (s *Store) SetMany(_ context.Context, items map[string][]byte, ttl time.Duration) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var first error
	for key, value := range items {
		it, err := newItem(value, ttl)
		if err != nil {
			s.c.Invalidate(key)
			if first == nil {
				first = fmt.Errorf("key %q: %w", key, err)
			}
			continue
		}
		s.put(key, it)
	}
	return first
}

// DeleteMany removes keys and returns how many live entries were there.
func (s *Store) DeleteMany(_ context.Context, keys []string) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	n := 0
	for _, key := range keys {
		if _, existed := s.c.Invalidate(key); existed {
			n++
		}
	}
	return n, nil
}

// put stores it under key. The value is registered in the index under
// the key's bucket lock, before otter retires the value it replaces (see
// index).
func (s *Store) put(key string, it *item) {
	if it.ttl < 0 {
		s.c.Invalidate(key)
		return
	}
	isNew := false
	s.c.Compute(key, func(cur *item, found bool) (*item, otter.ComputeOp) {
		it.gen = s.register(key, cur, found)
		isNew = !found
		return it, otter.WriteOp
	})
	s.wrote(key, it, isNew)
}

// register returns the index generation of a write over cur: a live
// entry's own (the key stays filed, and otter reports the replacement
// as such), or a new one.
func (s *Store) register(key string, cur *item, found bool) uint32 {
	if found {
		return cur.gen
	}
	return s.idx.add(key)
}

// add stores it under key unless a live entry is there, and reports
// whether it did (an entry with a negative ttl is stored and expired at
// once).
func (s *Store) add(key string, it *item) (added bool) {
	s.c.Compute(key, func(cur *item, found bool) (*item, otter.ComputeOp) {
		if found {
			return cur, otter.CancelOp
		}
		added = true
		if it.ttl < 0 {
			return cur, otter.CancelOp
		}
		it.gen = s.register(key, cur, found)
		return it, otter.WriteOp
	})
	if added && it.ttl >= 0 {
		s.wrote(key, it, true)
	}
	return added
}

// clone returns a copy of b that is never nil.
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
