package keyedcache_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
)

// A delete the backend did not receive is kept and replayed, in order,
// before anything else reaches the backend once it answers; meanwhile
// its keys read as misses, and the other keys are not held up.
func TestPendingReplayedInOrderBeforeAnythingElse(t *testing.T) {
	w := newSwitched(t)
	c, _ := newSwitchedCache(t, full{w})
	ctx := t.Context()
	for _, k := range []string{"a", "a2", "b", "p::1", "p::1::x", "p::10", "z"} {
		c.Set(ctx, k, "old "+k)
	}

	w.mode.Store(down)
	_, err := c.Delete(ctx, "a")
	if !errors.Is(err, keyedcache.ErrInvalidationPending) || !errors.Is(err, errSwitchedDown) {
		t.Fatalf("Delete on a down backend = %v; want an error matching ErrInvalidationPending and the cause", err)
	}
	c.Delete(ctx, "a2")
	if err := c.DeleteChildren(ctx, "p", 1); !errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Fatalf("DeleteChildren on a down backend = %v", err)
	}
	if _, err := c.DeleteMany(ctx, "z", "a"); !errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Fatalf("DeleteMany on a down backend = %v", err)
	}
	if got := c.Stats().PendingInvalidations; got != 4 { // a, a2, p::1 (with children), z; a again adds nothing
		t.Fatalf("PendingInvalidations = %d, want 4", got)
	}
	for _, k := range []string{"a", "a2", "p::1", "p::1::x", "z"} {
		_, err := keyedcache.Get[string](ctx, c, k)
		if !errors.Is(err, keyedcache.ErrInvalidationPending) || !errors.Is(err, keyedcache.ErrNotCached) {
			t.Errorf("Get(%s) while its delete is queued = %v; want a miss wrapping ErrInvalidationPending", k, err)
		}
	}
	if _, err := keyedcache.Get[string](ctx, c, "b"); errors.Is(err, keyedcache.ErrInvalidationPending) || !errors.Is(err, errSwitchedDown) {
		t.Errorf("Get(b), not deleted, on a down backend = %v; want a miss for the backend's failure only", err)
	}

	w.calls()
	w.mode.Store(up)
	if v, err := keyedcache.Get[string](ctx, c, "b"); err != nil || v != "old b" {
		t.Fatalf("Get(b) once the backend answers = %q, %v", v, err)
	}
	want := []string{"delete_many a,a2", "delete_prefix p::1::", "delete p::1", "delete z", "get b"}
	if diff := cmp.Diff(want, w.calls()); diff != "" {
		t.Errorf("calls reaching the backend once it answered (-want +got):\n%s", diff)
	}
	for _, k := range []string{"a", "a2", "p::1", "p::1::x", "z"} {
		if _, err := keyedcache.Get[string](ctx, c, k); !errors.Is(err, keyedcache.ErrNotCached) || errors.Is(err, keyedcache.ErrInvalidationPending) {
			t.Errorf("Get(%s) after the replay = %v; want a plain miss", k, err)
		}
	}
	if v, err := keyedcache.Get[string](ctx, c, "p::10"); err != nil || v != "old p::10" {
		t.Errorf("Get(p::10), not a child of p::1, = %q, %v", v, err)
	}
	if st := c.Stats(); st.PendingInvalidations != 0 || st.ReplayedInvalidations != 4 || st.OverflowedInvalidations != 0 {
		t.Errorf("stats after the replay: pending %d, replayed %d, overflowed %d; want 0, 4, 0", st.PendingInvalidations, st.ReplayedInvalidations, st.OverflowedInvalidations)
	}
}

// A queued invalidation hides its keys from every tier: a request tier
// holding the old value (read before another request's delete failed)
// and the process tier too, while the backend still holds the value.
func TestPendingHidesKeysFromEveryTier(t *testing.T) {
	w := newSwitched(t)
	c, _ := newSwitchedCache(t, full{w}, keyedcache.WithNearCache(keyedcache.NearCache{MaxEntries: 100, Staleness: time.Hour}))
	bg := t.Context()
	c.Set(bg, "k", "old")
	c.Set(bg, "tree::leaf", "old leaf")
	keyedcache.Get[string](bg, c, "k") // fills the process tier
	if v, _ := keyedcache.Get[string](bg, c, "k"); v != "old" || c.Stats().ProcessHits != 1 {
		t.Fatalf("setup: k = %q with %d process hits", v, c.Stats().ProcessHits)
	}
	req, release := keyedcache.WithRequestTier(bg)
	defer release()
	for _, k := range []string{"k", "tree::leaf"} {
		if v, err := keyedcache.Get[string](req, c, k); err != nil || !strings.HasPrefix(v, "old") {
			t.Fatalf("setup: request read of %s = %q, %v", k, v, err)
		}
	}

	// Deletes are lost on the way; reads still work, so the backend
	// keeps serving the old values to whoever asks it.
	w.mode.Store(deletesDown)
	if _, err := c.Delete(bg, "k"); !errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Fatalf("Delete = %v", err)
	}
	if err := c.DeleteChildren(bg, "tree"); !errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Fatalf("DeleteChildren = %v", err)
	}
	before := c.Stats()
	for _, ctx := range []context.Context{req, bg, keyedcache.SkipTiers(req)} {
		for _, k := range []string{"k", "tree::leaf"} {
			if v, err := keyedcache.Get[string](ctx, c, k); !errors.Is(err, keyedcache.ErrInvalidationPending) {
				t.Errorf("Get(%s) while its delete is queued = %q, %v; want a miss", k, v, err)
			}
			var v string
			if err := c.Get(ctx, &v, k); !errors.Is(err, keyedcache.ErrInvalidationPending) {
				t.Errorf("(*Cache).Get(%s) while its delete is queued = %q, %v; want a miss", k, v, err)
			}
			if c.IsCached(ctx, k) {
				t.Errorf("IsCached(%s) while its delete is queued", k)
			}
		}
		got, err := keyedcache.GetMany[string](ctx, c, "k", "tree::leaf")
		if err != nil || len(got) != 0 {
			t.Errorf("GetMany while the deletes are queued = %v, %v; want no hits", got, err)
		}
	}
	if st := c.Stats(); st.RequestHits != before.RequestHits || st.ProcessHits != before.ProcessHits || st.Hits != before.Hits {
		t.Errorf("hits while the deletes were queued: %d → %d (request %d → %d, process %d → %d)",
			before.Hits, st.Hits, before.RequestHits, st.RequestHits, before.ProcessHits, st.ProcessHits)
	}
	if _, found, _ := w.s.Get(bg, "k"); !found {
		t.Fatal("the test needs the old value still in the backend")
	}

	w.mode.Store(up)
	waitFor(t, "the retrier's replay", func() bool { return c.Stats().PendingInvalidations == 0 })
	if _, found, _ := w.s.Get(bg, "k"); found {
		t.Error("the replay left k in the backend")
	}
	if _, err := keyedcache.Get[string](bg, c, "tree::leaf"); !errors.Is(err, keyedcache.ErrNotCached) {
		t.Errorf("tree::leaf after the replay: %v", err)
	}
}

// A write to a key a queued invalidation covers stores nothing anywhere,
// and the byte-level methods say why.
func TestPendingRefusesWrites(t *testing.T) {
	w := newSwitched(t)
	c, _ := newSwitchedCache(t, full{w})
	ctx := t.Context()
	c.Set(ctx, "n", 5)
	data, _ := c.Encode("new")
	w.mode.Store(deletesDown)
	c.Delete(ctx, "k")
	c.DeleteChildren(ctx, "tree")
	c.Delete(ctx, "n")
	w.calls()
	for _, k := range []string{"k", "tree", "tree::leaf"} {
		if err := c.Set(ctx, k, "new"); err != nil {
			t.Errorf("Set(%s) = %v; want the write dropped silently", k, err)
		}
		if err := c.SetMany(ctx, map[string]any{k: "new"}); err != nil {
			t.Errorf("SetMany(%s) = %v", k, err)
		}
		if err := c.SetBytes(ctx, k, data); !errors.Is(err, keyedcache.ErrInvalidationPending) {
			t.Errorf("SetBytes(%s) = %v; want ErrInvalidationPending", k, err)
		}
		if ok, err := c.Add(ctx, k, "new"); ok || !errors.Is(err, keyedcache.ErrInvalidationPending) {
			t.Errorf("Add(%s) = %v, %v; want false, ErrInvalidationPending", k, ok, err)
		}
		if ok, err := c.AddBytes(ctx, k, data); ok || !errors.Is(err, keyedcache.ErrInvalidationPending) {
			t.Errorf("AddBytes(%s) = %v, %v", k, ok, err)
		}
		if ok, err := c.CompareAndSwap(ctx, k, data, data); ok || !errors.Is(err, keyedcache.ErrInvalidationPending) {
			t.Errorf("CompareAndSwap(%s) = %v, %v", k, ok, err)
		}
		if ok, err := c.Touch(ctx, k, time.Hour); ok || !errors.Is(err, keyedcache.ErrInvalidationPending) {
			t.Errorf("Touch(%s) = %v, %v", k, ok, err)
		}
		if _, found, err := c.GetBytes(ctx, k); found || !errors.Is(err, keyedcache.ErrInvalidationPending) {
			t.Errorf("GetBytes(%s) = %v, %v", k, found, err)
		}
	}
	if _, err := c.Incr(ctx, "n", 1); !errors.Is(err, keyedcache.ErrNotCached) || !errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Errorf("Incr of a key whose delete is queued = %v; want a miss wrapping ErrInvalidationPending", err)
	}
	if got := w.calls(); len(got) != 0 {
		t.Errorf("calls reached the backend for keys whose deletes are queued: %q", got)
	}
	// Another key is written as usual.
	if err := c.SetBytes(ctx, "other", data); err != nil {
		t.Errorf("SetBytes of a key nothing covers = %v", err)
	}
}

// A write that fails may leave the value it meant to replace in the
// backend: it is queued as a delete of its key.
func TestPendingFailedWriteIsADelete(t *testing.T) {
	ctx := context.Background()
	for name, write := range map[string]func(c *keyedcache.Cache) error{
		"Set":      func(c *keyedcache.Cache) error { return c.Set(ctx, "k", "new") },
		"SetMany":  func(c *keyedcache.Cache) error { return c.SetMany(ctx, map[string]any{"k": "new"}) },
		"SetBytes": func(c *keyedcache.Cache) error { d, _ := c.Encode("new"); return c.SetBytes(ctx, "k", d) },
		"Touch":    func(c *keyedcache.Cache) error { _, err := c.Touch(ctx, "k", time.Hour); return err },
		"Incr":     func(c *keyedcache.Cache) error { _, err := c.Incr(ctx, "k", 1); return err },
	} {
		for _, bk := range []struct {
			name string
			make func(t *testing.T, w *switched) *keyedcache.Cache
		}{
			{"full", func(t *testing.T, w *switched) *keyedcache.Cache { c, _ := newSwitchedCache(t, full{w}); return c }},
			{"generations", func(t *testing.T, w *switched) *keyedcache.Cache { c, _ := newSwitchedCache(t, w); return c }},
		} {
			t.Run(name+"/"+bk.name, func(t *testing.T) {
				w := newSwitched(t)
				c := bk.make(t, w)
				old := any("old")
				if name == "Incr" {
					old = 7
				}
				c.Set(ctx, "k", old)
				w.mode.Store(down)
				err := write(c)
				if name != "Set" && name != "SetMany" && !errors.Is(err, errSwitchedDown) {
					t.Errorf("%s on a down backend = %v; want its failure", name, err)
				}
				if got := c.Stats().PendingInvalidations; got != 1 {
					t.Fatalf("PendingInvalidations after a failed %s = %d, want 1", name, got)
				}
				w.mode.Store(up)
				if _, err := keyedcache.Get[any](ctx, c, "k"); !errors.Is(err, keyedcache.ErrNotCached) {
					t.Errorf("Get after the replay of a failed %s = %v; want a miss: the old value is gone", name, err)
				}
				if st := c.Stats(); st.PendingInvalidations != 0 || st.ReplayedInvalidations != 1 {
					t.Errorf("after the replay: pending %d, replayed %d", st.PendingInvalidations, st.ReplayedInvalidations)
				}
			})
		}
	}
}

// A CompareAndSwap that fails queues nothing: it can only have replaced
// the bytes its caller read (a cached function's claim, which its holder
// stores over later), and the old value is there after the backend
// answers again.
func TestPendingFailedCompareAndSwapQueuesNothing(t *testing.T) {
	ctx := context.Background()
	w := newSwitched(t)
	c, _ := newSwitchedCache(t, full{w})
	old, _ := c.Encode("old")
	if err := c.SetBytes(ctx, "k", old); err != nil {
		t.Fatal(err)
	}
	w.mode.Store(down)
	d, _ := c.Encode("new")
	if _, err := c.CompareAndSwap(ctx, "k", old, d); !errors.Is(err, errSwitchedDown) {
		t.Fatalf("CompareAndSwap on a down backend = %v; want its failure", err)
	}
	if got := c.Stats().PendingInvalidations; got != 0 {
		t.Fatalf("PendingInvalidations after a failed CompareAndSwap = %d, want 0", got)
	}
	w.mode.Store(up)
	if got, ok, err := c.GetBytes(ctx, "k"); err != nil || !ok || string(got) != string(old) {
		t.Fatalf("GetBytes after the backend answers = %q, %v, %v; want the old bytes", got, ok, err)
	}
}

// Past its bound the queue folds into a clear of the alias: every key
// reads as a miss meanwhile, and the replay removes them all.
func TestPendingOverflowClearsTheAlias(t *testing.T) {
	w := newSwitched(t)
	c, logs := newSwitchedCache(t, full{w}, keyedcache.WithKeyPrefix("site"))
	other, _ := newSwitchedCache(t, full{w}, keyedcache.WithKeyPrefix("other"))
	ctx := t.Context()
	c.Set(ctx, "never-deleted", "v")
	other.Set(ctx, "k", "theirs")
	w.mode.Store(down)
	for i := range keyedcache.MaxPendingInvalidations + 1 {
		c.Delete(ctx, "k", i)
	}
	st := c.Stats()
	if st.PendingInvalidations != 1 || st.OverflowedInvalidations != keyedcache.MaxPendingInvalidations+1 {
		t.Fatalf("after %d failed deletes: pending %d, overflowed %d; want 1 clear and all of them folded",
			keyedcache.MaxPendingInvalidations+1, st.PendingInvalidations, st.OverflowedInvalidations)
	}
	w.mode.Store(deletesDown) // reads work: only the queue hides the value
	if _, err := keyedcache.Get[string](ctx, c, "never-deleted"); !errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Errorf("a key never deleted, while a clear is queued: %v; want a miss", err)
	}
	w.mode.Store(up)
	if _, err := keyedcache.Get[string](ctx, c, "never-deleted"); !errors.Is(err, keyedcache.ErrNotCached) || errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Errorf("after the clear was replayed: %v; want a plain miss", err)
	}
	if v, err := keyedcache.Get[string](ctx, other, "k"); err != nil || v != "theirs" {
		t.Errorf("another alias's key after the clear: %q, %v", v, err)
	}
	if n := strings.Count(logs.String(), "folded into a clear of the alias"); n != 1 {
		t.Errorf("the overflow was logged %d times, want once:\n%s", n, logs.String())
	}
}

// On a generations backend without a key prefix (memcached without
// key_prefix, whose Clear may be refused), the queue folds into a delete
// with children per first key segment instead.
func TestPendingOverflowFoldsBySegment(t *testing.T) {
	w := newSwitched(t)
	c, _ := newSwitchedCache(t, w)
	ctx := t.Context()
	c.Set(ctx, "a::1", "v")
	c.Set(ctx, "c::1", "kept")
	w.mode.Store(down)
	for i := range keyedcache.MaxPendingInvalidations + 1 {
		c.Delete(ctx, []string{"a", "b"}[i%2], i)
	}
	if st := c.Stats(); st.PendingInvalidations != 2 || st.OverflowedInvalidations == 0 {
		t.Fatalf("pending %d, overflowed %d; want the two segments a and b", st.PendingInvalidations, st.OverflowedInvalidations)
	}
	w.mode.Store(up)
	if _, err := keyedcache.Get[string](ctx, c, "a", 1); !errors.Is(err, keyedcache.ErrNotCached) {
		t.Errorf("a::1 after the replay: %v; want a miss", err)
	}
	if v, err := keyedcache.Get[string](ctx, c, "c", 1); err != nil || v != "kept" {
		t.Errorf("c::1, in no folded segment: %q, %v", v, err)
	}
}

// A Clear that fails covers every key until it is replayed.
func TestPendingClear(t *testing.T) {
	w := newSwitched(t)
	c, _ := newSwitchedCache(t, full{w})
	ctx := t.Context()
	c.Set(ctx, "x", 1)
	w.mode.Store(deletesDown)
	c.Delete(ctx, "y")
	if err := c.Clear(ctx); !errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Fatalf("Clear = %v", err)
	}
	if st := c.Stats(); st.PendingInvalidations != 1 {
		t.Errorf("a queued clear replaces what was queued before: %d pending", st.PendingInvalidations)
	}
	if _, err := keyedcache.Get[int](ctx, c, "x"); !errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Errorf("Get while a clear is queued: %v", err)
	}
	w.mode.Store(up)
	if _, err := keyedcache.Get[int](ctx, c, "x"); !errors.Is(err, keyedcache.ErrNotCached) || errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Errorf("Get after the clear was replayed: %v", err)
	}
}

// A process that makes no more calls replays its queue too, through the
// background retrier, and logs the burst once.
func TestPendingRetrierAndLogs(t *testing.T) {
	w := newSwitched(t)
	c, logs := newSwitchedCache(t, w)
	ctx := t.Context()
	c.Set(ctx, "k", "old")
	w.mode.Store(down)
	for i := range 100 {
		c.Delete(ctx, "k")
		c.Delete(ctx, "other", i)
	}
	time.Sleep(300 * time.Millisecond) // some retries fail meanwhile
	w.mode.Store(up)
	waitFor(t, "the retrier's replay", func() bool { return c.Stats().PendingInvalidations == 0 })
	if st := c.Stats(); st.ReplayedInvalidations != 101 {
		t.Errorf("ReplayedInvalidations = %d, want 101", st.ReplayedInvalidations)
	}
	w.mode.Store(deletesDown)
	if _, err := keyedcache.Get[string](ctx, c, "k"); !errors.Is(err, keyedcache.ErrNotCached) || errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Errorf("k after the retrier's replay: %v; want a plain miss", err)
	}
	// The line is written just after the queue empties.
	waitFor(t, "the replay's log line", func() bool { return strings.Contains(logs.String(), "replayed; the backend answers again") })
	out := logs.String()
	for what, want := range map[string]int{"it is queued": 1, "replayed; the backend answers again": 1} {
		if n := strings.Count(out, what); n != want {
			t.Errorf("%q logged %d times, want %d:\n%s", what, n, want, out)
		}
	}
}

// A cached function whose delete is queued computes and does not store,
// and serves its old result to nobody; once the delete is replayed it
// caches again.
func TestPendingCachedFunction(t *testing.T) {
	w := newSwitched(t)
	c, _ := newSwitchedCache(t, full{w})
	ctx := t.Context()
	var version, computed atomic.Int64
	f := function.New(func(ctx context.Context, id int) (string, error) {
		computed.Add(1)
		return strconv.Itoa(id) + "@" + strconv.FormatInt(version.Load(), 10), nil
	}, function.WithCache(c), function.WithName("pending-test"))
	if v, err := f.Call(ctx, 1); err != nil || v != "1@0" {
		t.Fatalf("first call = %q, %v", v, err)
	}
	version.Store(1)
	w.mode.Store(deletesDown)
	if err := f.Delete(ctx, 1); !errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Fatalf("Func.Delete on a backend that loses deletes = %v", err)
	}
	for range 3 {
		if v, err := f.Call(ctx, 1); err != nil || v != "1@1" {
			t.Fatalf("call while the delete is queued = %q, %v; want the new result, computed", v, err)
		}
	}
	if n := computed.Load(); n != 4 {
		t.Errorf("%d computations; want 1 before the delete and 3 while it is queued (nothing stored)", n)
	}
	w.mode.Store(up)
	for range 3 {
		if v, err := f.Call(ctx, 1); err != nil || v != "1@1" {
			t.Fatalf("call after the replay = %q, %v", v, err)
		}
	}
	if n := computed.Load(); n != 5 {
		t.Errorf("%d computations; want one more after the replay, then hits", n)
	}
}

// On a backend that fills (groupcache), a call of a cached function goes
// to the backend's Fill, past the Cache's reads: while the delete of its
// result waits for the backend, it computes and stores nothing there
// either.
func TestPendingCachedFunctionThroughFill(t *testing.T) {
	w := newSwitched(t)
	c, _ := newSwitchedCache(t, &filling{full: full{w}})
	ctx := t.Context()
	var version, computed atomic.Int64
	f := function.New(func(ctx context.Context, id int) (string, error) {
		computed.Add(1)
		return strconv.Itoa(id) + "@" + strconv.FormatInt(version.Load(), 10), nil
	}, function.WithCache(c), function.WithName("pending-fill-test"))
	for range 2 {
		if v, err := f.Call(ctx, 1); err != nil || v != "1@0" {
			t.Fatalf("call = %q, %v", v, err)
		}
	}
	if n := computed.Load(); n != 1 {
		t.Fatalf("%d computations before the delete; want 1, then the filled value", n)
	}
	version.Store(1)
	w.mode.Store(deletesDown)
	if err := f.Delete(ctx, 1); !errors.Is(err, keyedcache.ErrInvalidationPending) {
		t.Fatalf("Func.Delete on a backend that loses deletes = %v", err)
	}
	for range 2 {
		if v, err := f.Call(ctx, 1); err != nil || v != "1@1" {
			t.Fatalf("call while the delete is queued = %q, %v; want the new result, computed here", v, err)
		}
	}
	w.mode.Store(up)
	if v, err := f.Call(ctx, 1); err != nil || v != "1@1" {
		t.Fatalf("call after the replay = %q, %v", v, err)
	}
}
