package memcached_test

import (
	"errors"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// TestIncr checks the contract memcached's own incr cannot meet: signed
// values, overflow detection that leaves the value alone, and the ttl
// kept, including an absolute one (over 30 days) and none.
func TestIncr(t *testing.T) {
	srv := startServer(t)
	ctx := ctxFor(t)
	s := newStore(t, memcached.Options{Servers: []string{srv.Addr}})
	const day = 24 * time.Hour

	s.Set(ctx, "n", []byte("5"), time.Minute)
	for _, c := range []struct {
		delta, want int64
	}{{-10, -5}, {-1 << 40, -1<<40 - 5}, {1 << 40, -5}, {5, 0}} {
		if n, err := s.Incr(ctx, "n", c.delta); err != nil || n != c.want {
			t.Fatalf("Incr(%d) = %d, %v; want %d", c.delta, n, err, c.want)
		}
	}
	s.Set(ctx, "max", []byte(strconv.FormatInt(math.MaxInt64-1, 10)), time.Minute)
	if _, err := s.Incr(ctx, "max", 2); !errors.Is(err, backend.ErrOverflow) {
		t.Fatalf("Incr past MaxInt64 = %v, want ErrOverflow", err)
	}
	s.Set(ctx, "min", []byte(strconv.FormatInt(math.MinInt64, 10)), time.Minute)
	if _, err := s.Incr(ctx, "min", -1); !errors.Is(err, backend.ErrOverflow) {
		t.Fatalf("Incr below MinInt64 = %v, want ErrOverflow", err)
	}
	if v, _, _ := s.Get(ctx, "max"); string(v) != strconv.FormatInt(math.MaxInt64-1, 10) {
		t.Fatalf("an overflowing Incr changed the value to %s", v)
	}
	for _, junk := range []string{"", "1.5", " 1", "0x10", "99999999999999999999"} {
		s.Set(ctx, "junk", []byte(junk), time.Minute)
		if _, err := s.Incr(ctx, "junk", 1); !errors.Is(err, backend.ErrNotNumeric) {
			t.Fatalf("Incr of %q = %v, want ErrNotNumeric", junk, err)
		}
	}
	if _, err := s.Incr(ctx, "absent", 1); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Incr of an absent key = %v, want ErrNotFound", err)
	}

	for _, ttl := range []time.Duration{time.Hour, 31 * day, backend.NoExpiry} {
		key := "ttl::" + ttl.String()
		s.Set(ctx, key, []byte("1"), ttl)
		before, _, _ := s.TTL(ctx, key)
		if n, err := s.Incr(ctx, key, 1); err != nil || n != 2 {
			t.Fatalf("Incr of an entry of %v = %d, %v", ttl, n, err)
		}
		after, found, err := s.TTL(ctx, key)
		if err != nil || !found || after > before || before-after > 2*time.Second || (ttl == backend.NoExpiry) != (after == backend.NoExpiry) {
			t.Fatalf("ttl %v: %v before Incr, %v (%v, %v) after; want it kept", ttl, before, after, found, err)
		}
	}
}

// TestIncrConcurrent increments one counter from 16 goroutines on two
// Stores (two connection pools): no increment is lost.
func TestIncrConcurrent(t *testing.T) {
	srv := startServer(t)
	ctx := ctxFor(t)
	opts := memcached.Options{Servers: []string{srv.Addr}, Timeout: 2 * time.Second}
	stores := []*memcached.Store{newStore(t, opts), newStore(t, opts)}
	stores[0].Set(ctx, "counter", []byte("0"), time.Hour)
	const workers, rounds = 16, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				if _, err := stores[w%2].Incr(ctx, "counter", 1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if v, _, _ := stores[1].Get(ctx, "counter"); string(v) != strconv.Itoa(workers*rounds) {
		t.Fatalf("counter = %s after %d increments", v, workers*rounds)
	}
}
