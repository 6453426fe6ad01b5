package backendtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

// The cases in this file check the edges users trip on: closed stores,
// the ends of the int64 range, keys too long to store as they are,
// writes that delete while the cache is off, and items a store refuses.

// testRawClosed: after Close, every call fails with an error matching
// backend.ErrClosed, and the store's entries are left alone.
func (s *suite) testRawClosed(t *testing.T) {
	a, b := s.open(t)
	ctx := ctxFor(t)
	mustSet(t, a, "raw::closed", []byte("1"), time.Minute)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, backend.ErrClosed) {
			t.Errorf("%s after Close = %v, want an error matching backend.ErrClosed", op, err)
		}
	}
	checkClosedBackend(ctx, a, check)
	if a != b { // another process's store still reads the entry
		wantValue(t, b, "raw::closed", []byte("1"))
	}
}

// checkClosedBackend calls every method of a closed backend, passing
// what each returned to check.
func checkClosedBackend(ctx context.Context, a backend.Backend, check func(op string, err error)) {
	_, _, err := a.Get(ctx, "raw::closed")
	check("Get", err)
	check("Set", a.Set(ctx, "raw::closed", []byte("2"), time.Minute))
	_, err = a.Add(ctx, "raw::closed::new", []byte("2"), time.Minute)
	check("Add", err)
	_, err = a.Delete(ctx, "raw::closed")
	check("Delete", err)
	check("Clear", a.Clear(ctx))
	if m, ok := a.(backend.Multi); ok {
		_, err = m.GetMany(ctx, []string{"raw::closed"})
		check("GetMany", err)
		check("SetMany", m.SetMany(ctx, map[string][]byte{"raw::closed": []byte("3")}, time.Minute))
		_, err = m.DeleteMany(ctx, []string{"raw::closed"})
		check("DeleteMany", err)
	}
	if pd, ok := a.(backend.PrefixDeleter); ok {
		_, err = pd.DeletePrefix(ctx, "raw::")
		check("DeletePrefix", err)
	}
	if tc, ok := a.(backend.Toucher); ok {
		check("Touch", tc.Touch(ctx, "raw::closed", time.Minute))
	}
	if in, ok := a.(backend.Incrementer); ok {
		_, err = in.Incr(ctx, "raw::closed", 1)
		check("Incr", err)
	}
	if cs, ok := a.(backend.CompareAndSwapper); ok {
		_, err = cs.CompareAndSwap(ctx, "raw::closed", []byte("1"), []byte("4"), time.Minute)
		check("CompareAndSwap", err)
	}
	if kl, ok := a.(backend.KeyLister); ok {
		_, err = kl.ScanKeys(ctx, "", func(string) bool { return true })
		check("ScanKeys", err)
	}
	if sl, ok := a.(backend.SortedKeyLister); ok {
		_, err = sl.ScanKeysAfter(ctx, "", "", func(string) bool { return true })
		check("ScanKeysAfter", err)
	}
	if tr, ok := a.(backend.TTLReader); ok {
		_, _, err = tr.TTL(ctx, "raw::closed")
		check("TTL", err)
	}
	if st, ok := a.(backend.Statser); ok {
		_, err = st.BackendStats(ctx)
		check("BackendStats", err)
	}
	if p, ok := a.(backend.Pinger); ok {
		check("Ping", p.Ping(ctx))
	}
}

// testRawIncrBounds: Incr reaches both ends of the int64 range, and
// refuses to pass them, leaving the value as it was.
func (s *suite) testRawIncrBounds(t *testing.T) {
	a, b := s.open(t)
	in, ok := b.(backend.Incrementer)
	if !ok {
		return // the core increments for it; the cache case checks that
	}
	ctx := ctxFor(t)
	steps := []struct {
		start, delta, want int64
		overflow           bool
	}{
		{5, math.MinInt64, 5 + math.MinInt64, false},
		{-1, math.MinInt64, 0, true},
		{math.MinInt64, -1, 0, true},
		{math.MinInt64 + 1, -1, math.MinInt64, false},
		{-5, math.MaxInt64, math.MaxInt64 - 5, false},
		{1, math.MaxInt64, 0, true},
		{math.MaxInt64, 1, 0, true},
		{math.MaxInt64, math.MinInt64, -1, false},
	}
	for _, st := range steps {
		start := []byte(fmt.Sprint(st.start))
		mustSet(t, a, "raw::bounds", start, time.Minute)
		n, err := in.Incr(ctx, "raw::bounds", st.delta)
		if st.overflow {
			if !errors.Is(err, backend.ErrOverflow) {
				t.Errorf("Incr(%d) on %d = %d, %v; want ErrOverflow", st.delta, st.start, n, err)
			}
			wantValue(t, a, "raw::bounds", start)
			continue
		}
		if err != nil || n != st.want {
			t.Errorf("Incr(%d) on %d = %d, %v; want %d", st.delta, st.start, n, err, st.want)
		}
	}
}

// testCacheClosed: after a Cache's Close every operation returns an
// error matching keyedcache.ErrClosed (a read, a miss caused by it), and
// so does every operation of another Cache on the same, now closed,
// backend value.
func (s *suite) testCacheClosed(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	set(t, one, "k", "v")
	set(t, one, "n", 1)
	if err := one.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	caches := []*keyedcache.Cache{one}
	if one.Backend() == two.Backend() && !byReference(two) {
		// Its backend is closed too. (By reference, a cache keeps values
		// through calls that cannot fail; only its own Close tells it.)
		caches = append(caches, two)
	}
	for _, c := range caches {
		check := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, keyedcache.ErrClosed) {
				t.Errorf("%s after Close = %v, want an error matching ErrClosed", op, err)
			}
		}
		_, err := keyedcache.Get[string](ctx, c, "k")
		check("Get", err)
		var v string
		check("Cache.Get", c.Get(ctx, &v, "k"))
		_, err = keyedcache.GetMany[string](ctx, c, "k")
		check("GetMany", err)
		check("Set", c.Set(ctx, "k", "w"))
		_, err = c.Add(ctx, "new", "w")
		check("Add", err)
		check("SetMany", c.SetMany(ctx, map[string]any{"k": "w"}))
		_, err = c.Delete(ctx, "k")
		check("Delete", err)
		check("DeleteChildren", c.DeleteChildren(ctx, "k"))
		_, err = c.DeleteMany(ctx, "k")
		check("DeleteMany", err)
		check("Clear", c.Clear(ctx))
		_, err = c.Touch(ctx, "k", time.Minute)
		check("Touch", err)
		_, err = c.Incr(ctx, "n", 1)
		check("Incr", err)
		_, err = c.Decr(ctx, "n", 1)
		check("Decr", err)
		_, _, err = c.GetBytes(ctx, "k")
		check("GetBytes", err)
		check("SetBytes", c.SetBytes(ctx, "k", []byte("x")))
		_, err = c.AddBytes(ctx, "new", []byte("x"))
		check("AddBytes", err)
		_, err = c.CompareAndSwap(ctx, "k", []byte("x"), []byte("y"))
		check("CompareAndSwap", err)
		check("Require", c.Require(ctx))
		if c.IsCached(ctx, "k") {
			t.Error("IsCached after Close = true")
		}
	}
	if one.Backend() != two.Backend() {
		wantHit(t, two, "v", "k") // another process's cache still reads it
	}
}

// testDecrBounds: Decr of math.MinInt64, whose negation is no int64, is
// ErrOverflow, as is any step past the int64 range; the value stays.
func (s *suite) testDecrBounds(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	set(t, one, "n", 5)
	if n, err := two.Decr(ctx, "n", math.MinInt64); !errors.Is(err, backend.ErrOverflow) {
		t.Fatalf("Decr(MinInt64) = %d, %v; want ErrOverflow", n, err)
	}
	wantHit(t, one, int64(5), "n")
	if n, err := two.Incr(ctx, "n", math.MaxInt64); !errors.Is(err, backend.ErrOverflow) {
		t.Fatalf("Incr(MaxInt64) on 5 = %d, %v; want ErrOverflow", n, err)
	}
	wantHit(t, one, int64(5), "n")
	if n, err := two.Incr(ctx, "n", math.MinInt64); err != nil || n != 5+math.MinInt64 {
		t.Fatalf("Incr(MinInt64) on 5 = %d, %v; want %d", n, err, int64(5+math.MinInt64))
	}
	if n, err := two.Decr(ctx, "n", 6); !errors.Is(err, backend.ErrOverflow) {
		t.Fatalf("Decr(6) on MinInt64+5 = %d, %v; want ErrOverflow", n, err)
	}
	if n, err := two.Decr(ctx, "n", 5); err != nil || n != math.MinInt64 {
		t.Fatalf("Decr(5) on MinInt64+5 = %d, %v; want MinInt64", n, err)
	}
	wantHit(t, one, int64(math.MinInt64), "n")
	if n, err := two.Decr(ctx, "n", math.MaxInt64); !errors.Is(err, backend.ErrOverflow) {
		t.Fatalf("Decr(MaxInt64) on MinInt64 = %d, %v; want ErrOverflow", n, err)
	}
	wantHit(t, one, int64(math.MinInt64), "n")
}

// testDisabledStillDeletes: while the cache is off, writes that delete —
// Set and SetMany with TTL(0), Touch with 0 — still reach the backend, so
// the old values do not come back on Enable.
func (s *suite) testDisabledStillDeletes(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	for _, k := range []string{"set", "many::1", "many::2", "touch", "kept"} {
		set(t, one, k, "before")
	}
	one.Enable(false)
	if err := one.Set(ctx, "set", "ignored", keyedcache.TTL(0)); err != nil {
		t.Fatalf("Set with TTL(0) while disabled: %v", err)
	}
	if err := one.SetMany(ctx, map[string]any{"many::1": "x", "many::2": "y"}, keyedcache.TTL(0)); err != nil {
		t.Fatalf("SetMany with TTL(0) while disabled: %v", err)
	}
	if existed, err := one.Touch(ctx, "touch", 0); err != nil || !existed {
		t.Fatalf("Touch(0) while disabled = %v, %v; want true (it deleted the entry)", existed, err)
	}
	one.Set(ctx, "kept", "ignored") // an ordinary write is dropped
	for _, k := range []string{"set", "many::1", "many::2", "touch"} {
		wantGone(t, two, k)
	}
	one.Enable(true)
	for _, k := range []string{"set", "many::1", "many::2", "touch"} {
		wantGone(t, one, k)
	}
	wantHit(t, one, "before", "kept")
}

// testSetManyRefused: SetMany tells which items it did not store, and
// stores the rest.
func (s *suite) testSetManyRefused(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	huge := strings.Repeat("x", 2<<20)
	err := one.SetMany(ctx, map[string]any{"sm::small": "fine", "sm::huge": huge, "sm::chan": make(chan int)})
	var ns *keyedcache.NotStoredError
	if !errors.As(err, &ns) {
		t.Fatalf("SetMany with a channel = %v, want a *NotStoredError", err)
	}
	if !errors.Is(err, keyedcache.ErrUnencodable) || !errors.Is(ns.Causes["sm::chan"], keyedcache.ErrUnencodable) {
		t.Errorf("the channel's cause is %v, want ErrUnencodable", ns.Causes["sm::chan"])
	}
	wantHit(t, two, "fine", "sm::small")
	wantGone(t, two, "sm::chan")
	if why, listed := ns.Causes["sm::huge"]; listed {
		// The store refused 2 MiB: it must say so, and hold nothing.
		t.Logf("the store refused 2 MiB: %v", why)
		if !errors.Is(why, backend.ErrTooLarge) {
			t.Errorf("2 MiB not stored because %v, want backend.ErrTooLarge", why)
		}
		if d := cmp.Diff([]string{"sm::chan", "sm::huge"}, ns.Keys); d != "" {
			t.Errorf("NotStoredError.Keys (-want +got):\n%s", d)
		}
		wantGone(t, two, "sm::huge")
	} else {
		t.Log("the store took 2 MiB")
		if d := cmp.Diff([]string{"sm::chan"}, ns.Keys); d != "" {
			t.Errorf("NotStoredError.Keys (-want +got):\n%s", d)
		}
		wantHit(t, two, huge, "sm::huge")
	}
}

// testLongKeyChildren: delete-with-children works whatever the length of
// the parent: children and grandchildren of parents from 200 to 2,000
// bytes (one long part, or many parts) are gone in the other process,
// and keys outside the parent's subtree stay. A parent whose key is
// short enough to have children of its own (at most 214 bytes once
// shortened) loses exactly its subtree; a longer one may take its
// siblings along (more than asked, never less).
func (s *suite) testLongKeyChildren(t *testing.T) {
	one, two, _ := s.caches(t)
	ctx := ctxFor(t)
	type tree struct {
		name   string
		parent []any
	}
	var trees []tree
	for _, n := range []int{200, 209, 210, 211, 212, 216, 217, 250, 251, 400, 1000, 2000} {
		trees = append(trees, tree{fmt.Sprintf("one part of %d", n), []any{"lk", strings.Repeat("p", n)}})
	}
	for _, n := range []int{3, 4, 6, 10} { // n parts of 180 bytes
		parts := []any{"lk"}
		for i := range n {
			parts = append(parts, strings.Repeat(string(rune('a'+i)), 180))
		}
		trees = append(trees, tree{fmt.Sprintf("%d parts of 180", n), parts})
	}
	for _, tr := range trees {
		t.Run(tr.name, func(t *testing.T) {
			under := func(more ...any) string { return one.Key(append(append([]any{}, tr.parent...), more...)...) }
			parent := under()
			kids := map[string]string{
				"parent":          parent,
				"child":           under("c"),
				"grandchild":      under("c", "g"),
				"long child":      under(strings.Repeat("c", 300)),
				"long grandchild": under(strings.Repeat("c", 300), strings.Repeat("g", 300)),
				"deep":            under("d1", strings.Repeat("d", 250), "d3", strings.Repeat("e", 250), "d5"),
			}
			outside := one.Key(append([]any{"lj"}, tr.parent[1:]...)...) // the same parts under another first part
			for name, k := range kids {
				if len(k) > backend.MaxKeyLen {
					t.Fatalf("%s: key of %d bytes", name, len(k))
				}
				set(t, one, k, name)
			}
			set(t, one, outside, "outside")
			exact := len(parent) <= 214
			sibling := one.Key(append(append([]any{}, tr.parent[:len(tr.parent)-1]...), "sibling")...)
			set(t, one, sibling, "sibling")
			if err := two.DeleteChildren(ctx, tr.parent...); err != nil {
				t.Fatalf("DeleteChildren: %v", err)
			}
			for name, k := range kids {
				if _, ok := get[string](t, one, k); ok {
					t.Errorf("%s (%d bytes, under a parent of %d) survived DeleteChildren", name, len(k), len(parent))
				}
			}
			wantHit(t, one, "outside", outside)
			if exact {
				wantHit(t, one, "sibling", sibling)
			}
			set(t, two, kids["child"], "again") // the subtree is usable again
			wantHit(t, one, "again", kids["child"])
		})
	}
}

func byReference(c *keyedcache.Cache) bool {
	o, ok := c.Backend().(backend.ObjectStore)
	return ok && o.ByReference()
}

// testNothingClosed is the closed checks for a backend that stores
// nothing: every call fails after Close, raw and through a Cache.
func (s *suite) testNothingClosed(t *testing.T) {
	a, _ := s.open(t)
	ctx := ctxFor(t)
	one, _, _ := s.caches(t)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkClosedBackend(ctx, a, func(op string, err error) {
		t.Helper()
		if !errors.Is(err, backend.ErrClosed) {
			t.Errorf("%s after Close = %v, want an error matching backend.ErrClosed", op, err)
		}
	})
	one.Close()
	if err := one.Set(ctx, "k", "v"); !errors.Is(err, keyedcache.ErrClosed) {
		t.Errorf("Cache.Set after Close = %v, want ErrClosed", err)
	}
	if _, err := keyedcache.Get[string](ctx, one, "k"); !errors.Is(err, keyedcache.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if err := one.DeleteChildren(ctx, "k"); !errors.Is(err, keyedcache.ErrClosed) {
		t.Errorf("DeleteChildren after Close = %v, want ErrClosed", err)
	}
}
