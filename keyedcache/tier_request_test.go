package keyedcache_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
)

// wantGets fails t unless the backend has been read n times since the
// last call.
func wantGets(t *testing.T, w *watched, n int64, what string) {
	t.Helper()
	if got := w.gets.Swap(0); got != n {
		t.Errorf("%s: the backend was read %d times, want %d", what, got, n)
	}
}

func TestRequestTierReadsOnce(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w)
	bg := context.Background()
	p := product{ID: 7, Name: "seven", Tags: []string{"a", "b"}}
	c.Set(bg, c.Key("product", 7), p)
	w.gets.Store(0)

	ctx := scope(t)
	for i := range 5 {
		got, err := keyedcache.Get[product](ctx, c, "product", 7)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if diff := cmp.Diff(p, got); diff != "" {
			t.Fatalf("read %d (-want +got):\n%s", i, diff)
		}
	}
	wantGets(t, w, 1, "five typed reads in one scope")

	var viaMethod product
	if err := c.Get(ctx, &viaMethod, "product", 7); err != nil || viaMethod.Name != "seven" {
		t.Fatalf("Cache.Get in scope: %+v, %v", viaMethod, err)
	}
	if !c.IsCached(ctx, "product", 7) {
		t.Error("IsCached in scope: false for a kept key")
	}
	wantGets(t, w, 0, "Cache.Get and IsCached of a kept key")

	st := c.Stats()
	if st.Hits != 6 || st.RequestHits != 5 || st.ProcessHits != 0 {
		t.Errorf("stats: hits %d, request hits %d, process hits %d; want 6, 5, 0", st.Hits, st.RequestHits, st.ProcessHits)
	}

	// Outside the scope every read reaches the backend.
	for range 3 {
		keyedcache.Get[product](bg, c, "product", 7)
	}
	wantGets(t, w, 3, "three reads without a scope")
}

func TestRequestTierReadIsACopy(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w)
	ctx := scope(t)
	c.Set(ctx, c.Key("p"), product{Name: "x", Tags: []string{"a"}})
	first, _ := keyedcache.Get[product](ctx, c, "p")
	first.Tags[0] = "changed"
	first.Name = "changed"
	second, _ := keyedcache.Get[product](ctx, c, "p")
	if second.Tags[0] != "a" || second.Name != "x" {
		t.Errorf("a change to a value read from the tier reached the tier: %+v", second)
	}
	var m map[string]any
	c.Set(ctx, c.Key("m"), map[string]any{"k": []any{"v"}})
	c.Get(ctx, &m, "m")
	m["k"].([]any)[0] = "changed"
	m["new"] = 1
	var again map[string]any
	c.Get(ctx, &again, "m")
	if diff := cmp.Diff(map[string]any{"k": []any{"v"}}, again); diff != "" {
		t.Errorf("map read after changing an earlier read (-want +got):\n%s", diff)
	}
	wantGets(t, w, 0, "reads of values this scope wrote")
}

// decodes counts the decodings of a counted value.
var decodes atomic.Int64

// counted is a copy-safe type that counts how often it is decoded.
type counted struct{ N int }

func (c *counted) UnmarshalCBOR(b []byte) error {
	decodes.Add(1)
	var n int
	if err := cbor.Unmarshal(b, &n); err != nil {
		return err
	}
	c.N = n
	return nil
}

func (c counted) MarshalCBOR() ([]byte, error) { return cbor.Marshal(c.N) }

func TestRequestTierDecodesCopySafeValuesOnce(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w)
	bg := context.Background()
	c.Set(bg, c.Key("n"), counted{42})
	decodes.Store(0)
	ctx := scope(t)
	for range 10 {
		v, err := keyedcache.Get[counted](ctx, c, "n")
		if err != nil || v.N != 42 {
			t.Fatalf("Get = %v, %v", v, err)
		}
	}
	// One decode from the backend, one from the tier's bytes (kept
	// beside them), then none.
	if n := decodes.Load(); n != 2 {
		t.Errorf("10 reads of a copy-safe value decoded it %d times, want 2", n)
	}
	// Another type reading the same entry decodes for itself.
	var asAny any
	if err := c.Get(ctx, &asAny, "n"); err != nil {
		t.Fatal(err)
	}
	if asAny != uint64(42) {
		t.Errorf("read into any = %#v (%T), want what the codec gives: uint64(42)", asAny, asAny)
	}
	// A value with references is decoded on every read.
	c.Set(ctx, c.Key("list"), []counted{{1}, {2}})
	decodes.Store(0)
	for range 3 {
		keyedcache.Get[[]counted](ctx, c, "list")
	}
	if n := decodes.Load(); n != 6 {
		t.Errorf("3 reads of a two-element slice decoded %d elements, want 6", n)
	}
}

func TestRequestTierFollowsOwnWrites(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w)
	ctx := scope(t)
	bg := context.Background()
	key := c.Key("product", 1)

	c.Set(ctx, key, "one")
	if v, _ := keyedcache.Get[string](ctx, c, key); v != "one" {
		t.Errorf("after Set: %q", v)
	}
	wantGets(t, w, 0, "read after own Set")

	c.Set(ctx, key, "two")
	if v, _ := keyedcache.Get[string](ctx, c, key); v != "two" {
		t.Errorf("after second Set: %q", v)
	}

	c.Delete(ctx, "product", 1)
	if _, err := keyedcache.Get[string](ctx, c, key); !errors.Is(err, keyedcache.ErrNotCached) {
		t.Errorf("after Delete: err = %v, want a miss", err)
	}

	// Delete with children drops the key and its children, not its
	// siblings.
	for _, k := range []string{"p::1", "p::1::a", "p::1::a::b", "p::12"} {
		c.Set(ctx, c.Key(k), k)
	}
	c.DeleteChildren(ctx, "p", 1)
	for k, want := range map[string]bool{"p::1": false, "p::1::a": false, "p::1::a::b": false, "p::12": true} {
		_, err := keyedcache.Get[string](ctx, c, k)
		if got := err == nil; got != want {
			t.Errorf("after DeleteChildren(p, 1): %s found = %v, want %v", k, got, want)
		}
	}

	c.Clear(ctx)
	if _, err := keyedcache.Get[string](ctx, c, "p::12"); err == nil {
		t.Error("after Clear: p::12 still found")
	}

	// Incr updates the kept value; Add keeps what it stored.
	c.Set(ctx, c.Key("n"), 1)
	keyedcache.Get[int](ctx, c, "n")
	if n, err := c.Incr(ctx, c.Key("n"), 5); n != 6 || err != nil {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	w.gets.Store(0)
	if n, _ := keyedcache.Get[int](ctx, c, "n"); n != 6 {
		t.Errorf("after Incr: %d, want 6", n)
	}
	wantGets(t, w, 0, "read after own Incr")
	if ok, _ := c.Add(ctx, c.Key("fresh"), "added"); !ok {
		t.Fatal("Add of a fresh key failed")
	}
	if v, _ := keyedcache.Get[string](ctx, c, "fresh"); v != "added" {
		t.Errorf("after Add: %q", v)
	}
	wantGets(t, w, 0, "read after own Add")

	// SetMany, GetMany and DeleteMany.
	c.SetMany(ctx, map[string]any{"m1": "a", "m2": "b"})
	got, err := keyedcache.GetMany[string](ctx, c, "m1", "m2", "m3")
	if diff := cmp.Diff(map[string]string{"m1": "a", "m2": "b"}, got); diff != "" || err != nil {
		t.Errorf("GetMany after SetMany (-want +got):\n%s err %v", diff, err)
	}
	wantGets(t, w, 1, "GetMany of two kept keys and one missing")
	c.DeleteMany(ctx, "m1")
	got, _ = keyedcache.GetMany[string](ctx, c, "m1", "m2")
	if diff := cmp.Diff(map[string]string{"m2": "b"}, got); diff != "" {
		t.Errorf("GetMany after DeleteMany (-want +got):\n%s", diff)
	}

	// A TTL shorter than the scope is kept, in the tier too.
	c.Set(ctx, c.Key("brief"), "x", keyedcache.TTL(30*time.Millisecond))
	time.Sleep(60 * time.Millisecond)
	if _, err := keyedcache.Get[string](ctx, c, "brief"); err == nil {
		t.Error("an entry written with a 30ms TTL was still read from the tier after 60ms")
	}

	// The backend holds what the scope wrote: writes go through.
	if v, err := keyedcache.Get[string](bg, c, "m2"); v != "b" || err != nil {
		t.Errorf("outside the scope: %q, %v", v, err)
	}
}

func TestRequestTierKeepsNoMisses(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w)
	ctx := scope(t)
	for range 3 {
		if _, err := keyedcache.Get[string](ctx, c, "absent"); err == nil {
			t.Fatal("hit on an absent key")
		}
	}
	wantGets(t, w, 3, "three reads of an absent key")
	// Another writer's value appears at the next read: a poll until a
	// key appears works inside a scope.
	c.Set(context.Background(), c.Key("absent"), "here")
	if v, _ := keyedcache.Get[string](ctx, c, "absent"); v != "here" {
		t.Errorf("after another writer's Set: %q", v)
	}
}

func TestRequestTierSnapshotAndSkipTiers(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w)
	bg := context.Background()
	c.Set(bg, c.Key("k"), "old")
	ctx := scope(t)
	keyedcache.Get[string](ctx, c, "k")
	c.Set(bg, c.Key("k"), "new") // another request
	if v, _ := keyedcache.Get[string](ctx, c, "k"); v != "old" {
		t.Errorf("in scope after another writer: %q, want the scope's first read, old", v)
	}
	fresh := keyedcache.SkipTiers(ctx)
	if v, _ := keyedcache.Get[string](fresh, c, "k"); v != "new" {
		t.Errorf("with SkipTiers: %q, want new", v)
	}
	// A write through the skipping context still updates the scope.
	c.Set(fresh, c.Key("k"), "mine")
	if v, _ := keyedcache.Get[string](ctx, c, "k"); v != "mine" {
		t.Errorf("after a write through SkipTiers: %q, want mine", v)
	}
	c.Delete(fresh, "k")
	if _, err := keyedcache.Get[string](ctx, c, "k"); err == nil {
		t.Error("after a delete through SkipTiers: still found in the scope")
	}
}

func TestRequestTierRelease(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w)
	c.Set(context.Background(), c.Key("k"), "v")
	ctx, release := keyedcache.WithRequestTier(context.Background())
	if !keyedcache.HasRequestTier(ctx) {
		t.Fatal("HasRequestTier false in a fresh scope")
	}
	inner, innerRelease := keyedcache.WithRequestTier(ctx)
	if inner != ctx {
		t.Error("a nested scope made a new tier")
	}
	innerRelease()
	if !keyedcache.HasRequestTier(ctx) {
		t.Error("releasing a nested scope ended the outer one")
	}
	keyedcache.Get[string](ctx, c, "k")
	release()
	release() // twice: nothing
	if keyedcache.HasRequestTier(ctx) {
		t.Error("HasRequestTier true after release")
	}
	w.gets.Store(0)
	keyedcache.Get[string](ctx, c, "k")
	keyedcache.Get[string](ctx, c, "k")
	wantGets(t, w, 2, "reads through a released scope")
}

func TestRequestTierDisabledCacheMisses(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w)
	ctx := scope(t)
	c.Set(ctx, c.Key("k"), "v")
	c.Enable(false)
	defer c.Enable(true)
	if _, err := keyedcache.Get[string](ctx, c, "k"); err == nil {
		t.Error("a disabled cache answered from the request tier")
	}
	if c.IsCached(ctx, "k") {
		t.Error("IsCached true on a disabled cache")
	}
}

func TestRequestTierBound(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w, keyedcache.WithTimeout(time.Minute))
	ctx := scope(t)
	n := keyedcache.MaxRequestEntries + 10
	for i := range n {
		c.Set(ctx, c.Key("k", i), i)
	}
	w.gets.Store(0)
	for i := range n {
		if v, err := keyedcache.Get[int](ctx, c, "k", i); v != i || err != nil {
			t.Fatalf("k::%d = %d, %v", i, v, err)
		}
	}
	wantGets(t, w, 10, "reads past the bound")
}

func TestRequestTierCorruptEntry(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w)
	ctx := scope(t)
	c.Set(ctx, c.Key("k"), "text")
	// Another type is a miss that leaves the entry to the readers of its
	// own type.
	var te *keyedcache.TypeError
	if _, err := keyedcache.Get[int](ctx, c, "k"); !errors.As(err, &te) {
		t.Fatalf("a string read as an int: %v, want a *TypeError", err)
	}
	if v, err := keyedcache.Get[string](ctx, c, "k"); v != "text" || err != nil {
		t.Errorf("after a read of another type, Get[string] = %q, %v; want the entry kept", v, err)
	}
	// Bytes that do not decode at all go, from the tier and the backend.
	if err := c.SetBytes(ctx, c.Key("bad"), []byte{0x01, 0xff}); err != nil {
		t.Fatal(err)
	}
	if _, err := keyedcache.Get[string](ctx, c, "bad"); !errors.Is(err, keyedcache.ErrNotCached) || errors.As(err, &te) {
		t.Fatalf("undecodable bytes: %v, want a miss that is no *TypeError", err)
	}
	if _, found, _ := w.Store.Get(context.Background(), "bad"); found {
		t.Error("an undecodable entry stayed in the backend")
	}
	if _, err := keyedcache.Get[string](ctx, c, "bad"); !errors.Is(err, keyedcache.ErrNotCached) {
		t.Errorf("an undecodable entry stayed in the tier: %v", err)
	}
	if st := c.Stats(); st.DecodeErrors != 2 {
		t.Errorf("decode errors %d, want 2", st.DecodeErrors)
	}
}

func TestRequestTiersConcurrent(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w)
	bg := context.Background()
	c.Set(bg, c.Key("shared"), "s")
	var wg sync.WaitGroup
	for r := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, release := keyedcache.WithRequestTier(bg)
			defer release()
			mine := strconv.Itoa(r)
			var inner sync.WaitGroup
			for g := range 4 { // goroutines of one request share its tier
				inner.Add(1)
				go func() {
					defer inner.Done()
					for i := range 50 {
						key := c.Key("req", g) // the same keys in every request
						c.Set(ctx, key, fmt.Sprint(mine, "/", i))
						if v, _ := keyedcache.Get[string](ctx, c, key); v != fmt.Sprint(mine, "/", i) {
							t.Errorf("request %d: read %q after writing %s/%d", r, v, mine, i)
							return
						}
						if v, _ := keyedcache.Get[string](ctx, c, "shared"); v != "s" {
							t.Errorf("shared key: %q", v)
							return
						}
					}
				}()
			}
			inner.Wait()
		}()
	}
	wg.Wait()
}
