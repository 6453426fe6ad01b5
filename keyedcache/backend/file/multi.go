package file

import (
	"context"
	"time"
)

// GetMany returns the live entries among keys, one Get at a time: a
// directory has no cheaper way to read many files.
func (s *Store) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		v, ok, err := s.Get(ctx, k)
		if err != nil {
			return out, err
		}
		if ok {
			out[k] = v
		}
	}
	return out, nil
}

// SetMany stores every item for ttl, one Set at a time. It stops at the
// first error; the items before it are stored.
func (s *Store) SetMany(ctx context.Context, items map[string][]byte, ttl time.Duration) error {
	for k, v := range items {
		if err := s.Set(ctx, k, v, ttl); err != nil {
			return err
		}
	}
	return nil
}

// DeleteMany removes keys, one Delete at a time, and returns how many
// live entries existed. It stops at the first error.
func (s *Store) DeleteMany(ctx context.Context, keys []string) (int, error) {
	n := 0
	for _, k := range keys {
		ok, err := s.Delete(ctx, k)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}
