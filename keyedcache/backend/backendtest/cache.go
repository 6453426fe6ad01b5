package backendtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

// product is a typical cached value.
type product struct {
	ID      int64
	Name    string
	Price   float64
	Tags    []string
	Updated time.Time
	Active  bool
}

// caches opens a pair and wraps it: one and two share the alias "app"
// (two processes), other is another alias on the same store.
func (s *suite) caches(t *testing.T, opts ...keyedcache.Option) (one, two, other *keyedcache.Cache) {
	t.Helper()
	a, b := s.open(t)
	mk := func(be backend.Backend, alias, prefix string) *keyedcache.Cache {
		base := []keyedcache.Option{
			keyedcache.WithAlias(alias), keyedcache.WithKeyPrefix(prefix),
			keyedcache.WithLogger(slog.New(slog.DiscardHandler)), // undecodable values are logged on purpose
		}
		c, err := keyedcache.New(be, append(base, opts...)...)
		if err != nil {
			t.Fatalf("keyedcache.New: %v", err)
		}
		return c
	}
	return mk(a, "app", "app"), mk(b, "app", "app"), mk(b, "other", "other")
}

func get[T any](t *testing.T, c *keyedcache.Cache, parts ...any) (T, bool) {
	t.Helper()
	v, err := keyedcache.Get[T](ctxFor(t), c, parts[0], parts[1:]...)
	if errors.Is(err, keyedcache.ErrNotCached) {
		return v, false
	}
	if err != nil {
		t.Fatalf("Get(%v): %v", parts, err)
	}
	return v, true
}

func set(t *testing.T, c *keyedcache.Cache, key string, v any, opts ...keyedcache.SetOption) {
	t.Helper()
	if err := c.Set(ctxFor(t), key, v, opts...); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func wantHit[T comparable](t *testing.T, c *keyedcache.Cache, want T, parts ...any) {
	t.Helper()
	got, ok := get[T](t, c, parts...)
	if !ok {
		t.Fatalf("%s: Get(%v) missed, want %v", c.Alias(), parts, want)
	}
	if got != want {
		t.Fatalf("%s: Get(%v) = %v, want %v", c.Alias(), parts, got, want)
	}
}

// setE is set that returns its error.
func setE(t *testing.T, c *keyedcache.Cache, key string, v any, opts ...keyedcache.SetOption) error {
	if err := c.Set(ctxFor(t), key, v, opts...); err != nil {
		return fmt.Errorf("Set(%q): %w", key, err)
	}
	return nil
}

// hit is wantHit that returns what is wrong as an error.
func hit[T comparable](t *testing.T, c *keyedcache.Cache, want T, parts ...any) error {
	got, err := keyedcache.Get[T](ctxFor(t), c, parts[0], parts[1:]...)
	switch {
	case errors.Is(err, keyedcache.ErrNotCached):
		return fmt.Errorf("%s: Get(%v) missed, want %v", c.Alias(), parts, want)
	case err != nil:
		return fmt.Errorf("%s: Get(%v): %w", c.Alias(), parts, err)
	case got != want:
		return fmt.Errorf("%s: Get(%v) = %v, want %v", c.Alias(), parts, got, want)
	}
	return nil
}

func wantGone(t *testing.T, c *keyedcache.Cache, parts ...any) {
	t.Helper()
	if c.IsCached(ctxFor(t), parts...) {
		t.Fatalf("%s: %v is cached, want it gone", c.Alias(), parts)
	}
	if _, err := keyedcache.Get[any](ctxFor(t), c, parts[0], parts[1:]...); !errors.Is(err, keyedcache.ErrNotCached) {
		t.Fatalf("%s: Get(%v) = %v, want a miss", c.Alias(), parts, err)
	}
}

func (s *suite) testTypedRoundTrip(t *testing.T) {
	one, two, _ := s.caches(t)
	p := product{ID: 7, Name: "Żółw", Price: 9.99, Tags: []string{"a", "b"}, Updated: time.Date(2026, 11, 21, 5, 4, 3, 123456789, time.UTC), Active: true}
	set(t, one, one.Key("product", 7), p)
	got, ok := get[product](t, two, "product", 7)
	if !ok {
		t.Fatal("a product set in one process missed in the other")
	}
	if d := cmp.Diff(p, got); d != "" {
		t.Fatalf("product read back (-want +got):\n%s", d)
	}
	got.Tags[0] = "changed" // a value read back is a copy
	again, _ := get[product](t, two, "product", 7)
	if d := cmp.Diff(p, again); d != "" {
		t.Fatalf("changing a read value changed the cache (-want +got):\n%s", d)
	}
	var dst product
	if err := one.Get(ctxFor(t), &dst, "product", 7); err != nil {
		t.Fatalf("(*Cache).Get: %v", err)
	}
	if d := cmp.Diff(p, dst); d != "" {
		t.Fatalf("(*Cache).Get (-want +got):\n%s", d)
	}
	set(t, one, "big", strings.Repeat("x", 1<<20))
	if got, _ := get[string](t, two, "big"); len(got) != 1<<20 {
		t.Fatalf("a 1 MiB string read back with %d bytes", len(got))
	}
}

func (s *suite) testNilAndZero(t *testing.T) {
	one, two, _ := s.caches(t)
	set(t, one, "zero", 0)
	wantHit(t, two, 0, "zero")
	set(t, one, "empty", "")
	wantHit(t, two, "", "empty")
	set(t, one, "nil", nil)
	if v, ok := get[*product](t, two, "nil"); !ok || v != nil {
		t.Fatalf("a stored nil read back as %v, hit=%v; want a nil hit", v, ok)
	}
	set(t, one, "badutf8", "a\xffb")
	wantHit(t, two, "a\xffb", "badutf8") // what was stored comes back, even invalid UTF-8
	set(t, one, "nilslice", []string(nil))
	if _, ok := get[[]string](t, two, "nilslice"); !ok {
		t.Fatal("a stored nil slice missed")
	}
}

func (s *suite) testMissCarriesKey(t *testing.T) {
	one, two, _ := s.caches(t)
	_, err := keyedcache.Get[int](ctxFor(t), one, "product", 123, keyedcache.KV{"size": "xl"})
	var nc *keyedcache.NotCachedError
	if !errors.As(err, &nc) || !errors.Is(err, keyedcache.ErrNotCached) {
		t.Fatalf("a miss returned %v, want a *NotCachedError matching ErrNotCached", err)
	}
	if want := "app::product::123::size::xl"; nc.Key != want {
		t.Fatalf("NotCachedError.Key = %q, want %q", nc.Key, want)
	}
	set(t, one, nc.Key, 99) // the Django pattern: compute, store under the key of the miss
	wantHit(t, two, 99, "product", 123, keyedcache.KV{"size": "xl"})
	if got := keyedcache.GetOr(ctxFor(t), two, 5, "absent"); got != 5 {
		t.Fatalf("GetOr on a miss = %d, want the default 5", got)
	}
}

func (s *suite) testTTL(t *testing.T) {
	// The alias timeout is long enough that a loaded machine (and a store
	// with coarse expiry) still reads "default" before it expires; the
	// short TTL shows sub-second expiry.
	timeout := time.Second + 2*s.slack
	one, two, _ := s.caches(t, keyedcache.WithTimeout(timeout))
	var short string
	inTime(t, 100*time.Millisecond, func(n int) error {
		short = keyN("short", n)
		if err := setE(t, one, short, "s", keyedcache.TTL(100*time.Millisecond)); err != nil {
			return err
		}
		return hit(t, two, "s", short)
	})
	s.wait(130 * time.Millisecond)
	wantGone(t, two, short) // sub-second TTLs hold

	var def string
	var setAt time.Time // when the entry's TTL has begun at the latest
	inTime(t, timeout, func(n int) error {
		def = keyN("default", n)
		if err := setE(t, one, def, "d"); err != nil {
			return err
		}
		setAt = time.Now()
		if err := setE(t, one, "long", "l", keyedcache.TTL(time.Minute)); err != nil {
			return err
		}
		if err := setE(t, one, "forever", "f", keyedcache.TTL(keyedcache.Forever)); err != nil {
			return err
		}
		return hit(t, two, "d", def)
	})
	s.wait(time.Until(setAt.Add(timeout + 100*time.Millisecond)))
	wantGone(t, two, def) // the alias timeout applies when no TTL is given
	wantHit(t, two, "l", "long")
	wantHit(t, two, "f", "forever")

	set(t, one, "zero", "z", keyedcache.TTL(0))
	wantGone(t, two, "zero") // zero: already expired, nothing stored
	set(t, one, "long", "x", keyedcache.TTL(-time.Second))
	wantGone(t, two, "long") // negative: stores nothing and deletes what was there
}

func (s *suite) testAdd(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	var lease string
	inTime(t, 150*time.Millisecond, func(n int) error {
		lease = keyN("lease", n)
		if added, err := one.Add(ctx, lease, "p1", keyedcache.TTL(150*time.Millisecond)); err != nil || !added {
			return fmt.Errorf("Add on an absent key = %v, %v; want true", added, err)
		}
		if added, err := two.Add(ctx, lease, "p2"); err != nil || added {
			return fmt.Errorf("Add on a present key = %v, %v; want false", added, err)
		}
		return hit(t, two, "p1", lease)
	})
	s.wait(200 * time.Millisecond)
	if added, err := two.Add(ctx, lease, "p2"); err != nil || !added {
		t.Fatalf("Add after the entry expired = %v, %v; want true", added, err)
	}
	wantHit(t, one, "p2", lease)
}

func (s *suite) testDelete(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	set(t, one, "k", "v")
	if existed, err := two.Delete(ctx, "k"); err != nil || !existed {
		t.Fatalf("Delete of a present key = %v, %v; want true", existed, err)
	}
	wantGone(t, one, "k")
	if existed, err := two.Delete(ctx, "k"); err != nil || existed {
		t.Fatalf("Delete of an absent key = %v, %v; want false", existed, err)
	}
}

func (s *suite) testDeleteChildren(t *testing.T) {
	one, two, other := s.caches(t)
	for _, k := range []string{"product::1", "product::1::summary", "product::1::a::b", "product::12", "product::2"} {
		set(t, one, k, k)
	}
	set(t, other, "product::1", "other alias")
	if err := two.DeleteChildren(ctxFor(t), "product", 1); err != nil {
		t.Fatalf("DeleteChildren: %v", err)
	}
	wantGone(t, one, "product::1")
	wantGone(t, one, "product::1::summary")
	wantGone(t, one, "product::1::a::b")
	wantHit(t, one, "product::12", "product::12") // a sibling with a longer id stays
	wantHit(t, one, "product::2", "product::2")
	wantHit(t, other, "other alias", "product::1") // another alias stays
	set(t, one, "product::1::summary", "again")    // and the key can be used again
	wantHit(t, two, "again", "product::1::summary")
}

func (s *suite) testClear(t *testing.T) {
	one, two, other := s.caches(t)
	set(t, one, "a", "1")
	set(t, one, "b::c", "2")
	set(t, other, "a", "kept")
	if err := two.Clear(ctxFor(t)); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	wantGone(t, one, "a")
	wantGone(t, one, "b::c")
	wantHit(t, other, "kept", "a")
	set(t, one, "a", "3")
	wantHit(t, two, "3", "a")
}

func (s *suite) testTouch(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	var key string
	inTime(t, 200*time.Millisecond, func(n int) error {
		key = keyN("t", n)
		if err := setE(t, one, key, "v", keyedcache.TTL(200*time.Millisecond)); err != nil {
			return err
		}
		if ok, err := two.Touch(ctx, key, time.Minute); err != nil || !ok {
			return fmt.Errorf("Touch of a present key = %v, %v; want true", ok, err)
		}
		return nil
	})
	s.wait(300 * time.Millisecond)
	wantHit(t, one, "v", key)
	if ok, err := two.Touch(ctx, "absent", time.Minute); err != nil || ok {
		t.Fatalf("Touch of an absent key = %v, %v; want false", ok, err)
	}
	if ok, err := two.Touch(ctx, key, 0); err != nil || !ok {
		t.Fatalf("Touch with ttl 0 = %v, %v; want true (and the entry gone)", ok, err)
	}
	wantGone(t, one, key)
}

func (s *suite) testIncr(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	var nc *keyedcache.NotCachedError
	if _, err := one.Incr(ctx, "n", 1); !errors.As(err, &nc) {
		t.Fatalf("Incr of an absent key = %v, want a *NotCachedError", err)
	}
	var key string
	inTime(t, 300*time.Millisecond, func(n int) error {
		key = keyN("n", n)
		if err := setE(t, one, key, 10, keyedcache.TTL(300*time.Millisecond)); err != nil {
			return err
		}
		if n, err := two.Incr(ctx, key, 5); err != nil || n != 15 {
			return fmt.Errorf("Incr = %d, %v; want 15", n, err)
		}
		if n, err := one.Decr(ctx, key, 20); err != nil || n != -5 {
			return fmt.Errorf("Decr = %d, %v; want -5", n, err)
		}
		return hit(t, two, int64(-5), key)
	})
	s.wait(400 * time.Millisecond)
	wantGone(t, two, key) // Incr kept the TTL of the entry
	set(t, one, "s", "text")
	if _, err := two.Incr(ctx, "s", 1); !errors.Is(err, keyedcache.ErrNotNumeric) {
		t.Fatalf("Incr of a string = %v, want ErrNotNumeric", err)
	}
}

func (s *suite) testMany(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	items := map[string]any{"m::1": "one", "m::2": "two", "m::3": "three"}
	if err := one.SetMany(ctx, items); err != nil {
		t.Fatalf("SetMany: %v", err)
	}
	got, err := keyedcache.GetMany[string](ctx, two, "m::1", "m::2", "m::absent")
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	if d := cmp.Diff(map[string]string{"m::1": "one", "m::2": "two"}, got); d != "" {
		t.Fatalf("GetMany (-want +got):\n%s", d)
	}
	if n, err := two.DeleteMany(ctx, "m::1", "m::3", "m::absent"); err != nil || n != 2 {
		t.Fatalf("DeleteMany = %d, %v; want 2", n, err)
	}
	wantGone(t, one, "m::1")
	wantHit(t, one, "two", "m::2")
}

func (s *suite) testDisabled(t *testing.T) {
	one, two, _ := s.caches(t)
	set(t, one, "k", "before")
	one.Enable(false)
	_, err := keyedcache.Get[string](ctxFor(t), one, "k")
	var nc *keyedcache.NotCachedError
	if !errors.As(err, &nc) || nc.Key != "app::k" {
		t.Fatalf("a read while disabled = %v, want a *NotCachedError for app::k", err)
	}
	set(t, one, "k", "during")
	set(t, one, "new", "during")
	one.Enable(true)
	wantHit(t, one, "before", "k") // re-enabling shows the value from before
	wantGone(t, two, "new")
}

func (s *suite) testCorrupt(t *testing.T) {
	one, two, _ := s.caches(t)
	// A value read as another type is a miss whose cause is a
	// *TypeError naming both types; it is counted, and the entry stays
	// for the readers of its own type.
	set(t, one, "typed", "a string")
	_, err := keyedcache.Get[product](ctxFor(t), two, "typed")
	var te *keyedcache.TypeError
	if !errors.Is(err, keyedcache.ErrNotCached) || !errors.As(err, &te) {
		t.Fatalf("a string read as a struct: %v, want a miss caused by a *TypeError", err)
	}
	if !strings.Contains(te.Stored, "string") || te.Wanted != "backendtest.product" {
		t.Fatalf("TypeError says stored %q, wanted %q; want a string and backendtest.product", te.Stored, te.Wanted)
	}
	if st := two.Stats(); st.DecodeErrors != 1 || st.Errors != 1 {
		t.Fatalf("DecodeErrors = %d, Errors = %d; want the mismatch counted once in each", st.DecodeErrors, st.Errors)
	}
	wantHit(t, one, "a string", "typed")
	if _, err := keyedcache.Get[int8](ctxFor(t), two, "typed"); !errors.As(err, &te) {
		t.Fatalf("a string read as an int8: %v, want a *TypeError", err)
	}
	set(t, one, "big", 300) // stored as the integer text 300
	if _, err := keyedcache.Get[int8](ctxFor(t), two, "big"); !errors.As(err, &te) {
		t.Fatalf("300 read as an int8: %v, want a *TypeError", err)
	}
	wantHit(t, one, 300, "big")

	// Garbage written straight to the store is a miss, never a panic.
	if _, direct := two.Backend().(backend.PrefixDeleter); direct { // keys are physical keys
		for i, junk := range [][]byte{{}, {0x01}, {0x01, 0xff, 0xff}, {0x7f, 'x'}, {0x02, '{'}, []byte("12x")} {
			key := fmt.Sprintf("app::junk::%d", i)
			if err := two.Backend().Set(ctxFor(t), key, junk, time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, ok := get[product](t, one, key); ok {
				t.Fatalf("junk %q decoded as %+v", junk, v)
			}
			if _, found, err := two.Backend().Get(ctxFor(t), key); found || err != nil {
				t.Fatalf("junk %q: still stored after the read (%v); want it deleted", junk, err)
			}
		}
	}
}

func (s *suite) testKeys(t *testing.T) {
	one, two, _ := s.caches(t)
	long1 := strings.Repeat("α", 200) + "1"
	long2 := strings.Repeat("α", 200) + "2"
	set(t, one, one.Key("long", long1), "first")
	set(t, one, one.Key("long", long2), "second")
	wantHit(t, two, "first", "long", long1)
	wantHit(t, two, "second", "long", long2)
	set(t, one, one.Key("a b"), "space")
	set(t, one, one.Key("a.b"), "dot")
	wantHit(t, two, "space", "a b")
	wantHit(t, two, "dot", "a.b")
	set(t, one, one.Key("ctl\x00\n%"), "ctl")
	wantHit(t, two, "ctl", "ctl\x00\n%")
}

func (s *suite) testRequire(t *testing.T) {
	one, _, _ := s.caches(t)
	if err := one.Require(ctxFor(t)); err != nil {
		t.Fatalf("Require: %v", err)
	}
}

func (s *suite) testConcurrent(t *testing.T) {
	one, two, _ := s.caches(t)
	set(t, one, "counter", 0)
	const workers, rounds = 50, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := one
			if w%2 == 1 {
				c = two
			}
			own := fmt.Sprintf("own::%d", w)
			// Each round has a deadline of its own: the whole run takes
			// as long as the machine needs for 2,000 rounds, but no
			// call may hang.
			round := func(i int) error {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := c.Set(ctx, own, i); err != nil {
					return err
				}
				if got, err := keyedcache.Get[int](ctx, c, own); err != nil || got != i {
					return fmt.Errorf("worker %d read back %d, %v; want %d", w, got, err, i)
				}
				if _, err := c.Incr(ctx, "counter", 1); err != nil {
					return err
				}
				c.Add(ctx, fmt.Sprintf("shared::%d", i%5), w)
				keyedcache.Get[int](ctx, c, fmt.Sprintf("shared::%d", (i+w)%5))
				if i%10 == 0 {
					c.DeleteChildren(ctx, "tree", w%3)
					c.Set(ctx, c.Key("tree", w%3, i), i)
				}
				return nil
			}
			for i := range rounds {
				if err := round(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	_, native := one.Backend().(backend.Incrementer)
	_, cas := one.Backend().(backend.CompareAndSwapper)
	got, _ := get[int](t, one, "counter")
	if (native || cas) && got != workers*rounds {
		t.Fatalf("counter = %d after %d atomic increments", got, workers*rounds)
	}
}

func (s *suite) testStoresNothing(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	set(t, one, "k", "v")
	wantGone(t, two, "k")
	wantGone(t, one, "k")
	if err := one.Require(ctx); err != nil {
		t.Fatalf("Require: %v", err)
	}
	if _, err := one.Incr(ctx, "k", 1); !errors.Is(err, keyedcache.ErrNotCached) {
		t.Fatalf("Incr = %v, want a miss", err)
	}
	if err := one.DeleteChildren(ctx, "k"); err != nil {
		t.Fatalf("DeleteChildren: %v", err)
	}
	if err := one.Clear(ctx); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if st := one.Stats(); st.Hits != 0 || st.Misses != 1 {
		t.Fatalf("stats = %+v, want 0 hits and 1 miss", st)
	}
}
