package memcached

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"keyedcache.dev/keyedcache/backend"
)

// GetMany reads keys with one multi-get per server, the servers in
// parallel.
func (s *Store) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if len(keys) == 0 {
		return map[string][]byte{}, nil
	}
	type group struct {
		s    *server
		keys []string
	}
	var groups []group
	back := make(map[string]string, len(keys))
	for _, k := range keys {
		sk := s.serverKey(k)
		back[sk] = k
		sv := s.ring.serverFor(sk)
		i := slices.IndexFunc(groups, func(g group) bool { return g.s == sv })
		if i < 0 {
			i = len(groups)
			groups = append(groups, group{s: sv})
		}
		groups[i].keys = append(groups[i].keys, sk)
	}
	out := make(map[string][]byte, len(keys))
	var mu sync.Mutex
	add := func(sk string, v []byte) {
		if k, ok := back[sk]; ok {
			mu.Lock()
			out[k] = v
			mu.Unlock()
		}
	}
	fetch := func(g group) error { return s.raw.getMulti(ctx, g.s, g.keys, add) }
	if len(groups) == 1 {
		if err := fetch(groups[0]); err != nil {
			return nil, wrap("get many", err)
		}
		return out, nil
	}
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups[1:] {
		wg.Go(func() { errs[i+1] = fetch(g) })
	}
	errs[0] = fetch(groups[0])
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, wrap("get many", err)
	}
	return out, nil
}

// SetMany stores every item with one ttl, one set after another. The
// core writes through Set on this backend (its namespace generations
// need a key per write); SetMany is for programs that use the backend
// directly.
func (s *Store) SetMany(ctx context.Context, items map[string][]byte, ttl time.Duration) error {
	var errs []error
	for k, v := range items {
		if err := s.Set(ctx, k, v, ttl); err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeleteMany removes keys, one delete after another, and returns how
// many existed.
func (s *Store) DeleteMany(ctx context.Context, keys []string) (int, error) {
	n := 0
	var errs []error
	for _, k := range keys {
		existed, err := s.Delete(ctx, k)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return n, err
			}
			errs = append(errs, err)
		}
		if existed {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// Touch gives a live entry a new ttl (rounded as Set rounds it).
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration) error {
	sk, exp := s.serverKey(key), expiration(ttl, time.Now())
	if err := s.up(sk); err != nil {
		return wrap("touch", err)
	}
	err := s.do(ctx, func() error { return s.mc.Touch(sk, exp) })
	if errors.Is(err, memcache.ErrCacheMiss) {
		return backend.ErrNotFound
	}
	return wrap("touch", err)
}

// CompareAndSwap stores value under key with ttl only if the live entry
// holds old: it reads the entry with its CAS unique (gets) and writes
// with cas, which the server refuses if anything wrote the entry in
// between.
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	sk := s.serverKey(key)
	if err := s.up(sk); err != nil {
		return false, wrap("compare and swap", err)
	}
	var it *memcache.Item
	err := s.do(ctx, func() (err error) {
		it, err = s.mc.Get(sk)
		return err
	})
	switch {
	case errors.Is(err, memcache.ErrCacheMiss):
		return false, nil
	case err != nil:
		return false, wrap("compare and swap", err)
	case string(it.Value) != string(old):
		return false, nil
	}
	exp, casID := expiration(ttl, time.Now()), it.CasID
	err = s.write(ctx, value, func(v []byte) error {
		return s.mc.CompareAndSwap(&memcache.Item{Key: sk, Value: v, Expiration: exp, CasID: casID})
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCacheMiss):
		return false, nil
	}
	return false, wrap("compare and swap", err)
}
