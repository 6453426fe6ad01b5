package memcached_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// TestLongTTL stores entries for more than 30 days. memcached reads an
// exptime over 30 days as an absolute Unix time, so a ttl sent as plain
// seconds would land in 1970 and the entry would expire at once; the
// Store sends the absolute time instead.
func TestLongTTL(t *testing.T) {
	srv := startServer(t)
	s := newStore(t, memcached.Options{Servers: []string{srv.Addr}})
	ctx := ctxFor(t)
	const day = 24 * time.Hour

	// What goes wrong without the conversion, shown with gomemcache
	// directly: 31 days as seconds.
	raw := memcache.New(srv.Addr)
	defer raw.Close()
	if err := raw.Set(&memcache.Item{Key: "raw31", Value: []byte("x"), Expiration: int32(31 * day / time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Get("raw31"); err != memcache.ErrCacheMiss {
		t.Fatalf("31 days sent as seconds: Get = %v, want a miss (the premise of this test)", err)
	}

	for _, ttl := range []time.Duration{30*day - 2*time.Second, 30 * day, 31 * day, 365 * day} {
		key := "long::" + ttl.String()
		if err := s.Set(ctx, key, []byte("kept"), ttl); err != nil {
			t.Fatalf("Set(%v): %v", ttl, err)
		}
		if v, found, err := s.Get(ctx, key); err != nil || !found || string(v) != "kept" {
			t.Fatalf("Get after Set(%v) = %q, %v, %v; want kept", ttl, v, found, err)
		}
		left, found, err := s.TTL(ctx, key)
		if err != nil || !found || left > ttl || left < ttl-5*time.Second {
			t.Fatalf("TTL after Set(%v) = %v, %v, %v; want within 5s below it", ttl, left, found, err)
		}
	}

	// Touch and Add take the same path.
	if err := s.Set(ctx, "touched", []byte("x"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, "touched", 31*day); err != nil {
		t.Fatal(err)
	}
	if left, _, err := s.TTL(ctx, "touched"); err != nil || left < 31*day-5*time.Second {
		t.Fatalf("TTL after Touch(31 days) = %v, %v", left, err)
	}
	if added, err := s.Add(ctx, "added", []byte("x"), 40*day); err != nil || !added {
		t.Fatalf("Add(40 days) = %v, %v", added, err)
	}
	if _, found, _ := s.Get(ctx, "added"); !found {
		t.Fatal("an entry added for 40 days is gone at once")
	}

	// Beyond 2038 the protocol's 32-bit time cannot say when: never.
	if err := s.Set(ctx, "century", []byte("x"), 100*365*day); err != nil {
		t.Fatal(err)
	}
	if left, found, err := s.TTL(ctx, "century"); err != nil || !found || left != backend.NoExpiry {
		t.Fatalf("TTL after Set(100 years) = %v, %v, %v; want NoExpiry", left, found, err)
	}
}

// TestShortTTLNeverExpiresEarly checks that rounding goes up: an entry
// lives at least its ttl, although memcached counts whole seconds and
// its clock may tick right after the write (with "expire in 1 second"
// an entry can go after a few milliseconds). Each entry is read just
// before its ttl ends (the longest after the server's clock has ticked
// at least once); a miss that is seen before the ttl has passed fails
// the test. Then, well past ttl + slack, they are gone.
func TestShortTTLNeverExpiresEarly(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	s := newStore(t, memcached.Options{Servers: []string{srv.Addr}})
	ctx := ctxFor(t)
	ttls := []time.Duration{10 * time.Millisecond, 500 * time.Millisecond, 1100 * time.Millisecond}
	for round := range 2 {
		start := time.Now()
		for _, ttl := range ttls {
			if err := s.Set(ctx, "short::"+ttl.String(), []byte("x"), ttl); err != nil {
				t.Fatal(err)
			}
		}
		written := time.Now() // every ttl has begun by now
		for _, ttl := range ttls {
			time.Sleep(time.Until(start.Add(ttl - 5*time.Millisecond)))
			_, found, err := s.Get(ctx, "short::"+ttl.String())
			if err != nil {
				t.Fatal(err)
			}
			if !found && time.Since(start) < ttl {
				t.Fatalf("round %d: an entry of %v was gone %v after it was written", round, ttl, time.Since(start))
			}
		}
		time.Sleep(time.Until(written.Add(ttls[len(ttls)-1] + slack)))
		for _, ttl := range ttls {
			if _, found, err := s.Get(ctx, "short::"+ttl.String()); err != nil || found {
				t.Fatalf("round %d: an entry of %v lived past ttl+%v (%v, %v)", round, ttl, slack, found, err)
			}
		}
		time.Sleep(time.Duration(round+1) * 333 * time.Millisecond) // another phase of the server's clock
	}
}

// TestLongTTLLateClock: memcached advances its clock once a second, so
// it runs up to a second behind this machine's (more when its tick is
// late, as on a loaded machine or after the process was stopped). For an
// entry over 30 days, stored with an absolute expiry, TTL must still
// never report more than was set, and Incr must not move the expiry
// later: at every phase of the server's clock, and right after the
// server was stopped and resumed.
func TestLongTTLLateClock(t *testing.T) {
	srv := startServer(t)
	s := newStore(t, memcached.Options{Servers: []string{srv.Addr}, Timeout: 5 * time.Second})
	ctx := ctxFor(t)
	const ttl = 31 * 24 * time.Hour
	check := func(what, key string) time.Duration {
		t.Helper()
		left, found, err := s.TTL(ctx, key)
		if err != nil || !found || left > ttl || left < ttl-5*time.Second {
			t.Fatalf("%s: TTL = %v, %v, %v; want at most %v and within 5s of it", what, left, found, err, ttl)
		}
		return left
	}
	incr := func(what, key string) {
		t.Helper()
		before := check(what+", before Incr", key)
		for range 3 {
			if _, err := s.Incr(ctx, key, 1); err != nil {
				t.Fatalf("%s: Incr: %v", what, err)
			}
		}
		if after := check(what+", after Incr", key); after > before {
			t.Fatalf("%s: TTL %v before three Incrs, %v after: the expiry moved later", what, before, after)
		}
	}
	for phase := range 14 { // 14 × 87ms: every phase of the server's second
		key := fmt.Sprintf("phase::%d", phase)
		if err := s.Set(ctx, key, []byte("1"), ttl); err != nil {
			t.Fatal(err)
		}
		incr(fmt.Sprintf("phase %d", phase), key)
		time.Sleep(87 * time.Millisecond)
	}
	for round := range 2 {
		key := fmt.Sprintf("paused::%d", round)
		if err := s.Set(ctx, key, []byte("1"), ttl); err != nil {
			t.Fatal(err)
		}
		srv.Pause()
		time.Sleep(1500 * time.Millisecond)
		srv.Resume()
		incr(fmt.Sprintf("after a pause, round %d", round), key)
	}
}
