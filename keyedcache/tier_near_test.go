package keyedcache_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/dummy"
	"keyedcache.dev/keyedcache/backend/memory"
)

// Two Cache values with process tiers on one store stand for two
// processes here; the tests in package threaded use real processes.

const (
	staleness = 40 * time.Millisecond
	// presence is how often writers look for process tiers in these
	// tests (keyedcache.WithPresenceEvery); a new tier answers after
	// twice that.
	presence = 10 * time.Millisecond
)

// nearOpts are the options of a cache with a process tier of n.
func nearOpts(n keyedcache.NearCache) []keyedcache.Option {
	return []keyedcache.Option{keyedcache.WithNearCache(n), keyedcache.WithPresenceEvery(presence)}
}

func nearPair(t *testing.T, opts ...keyedcache.Option) (w *watched, a, b *keyedcache.Cache) {
	w = newWatched(t)
	opts = append(nearOpts(keyedcache.NearCache{MaxEntries: 1000, Staleness: staleness}), opts...)
	a, b = cacheOn(t, w, opts...), cacheOn(t, w, opts...)
	warm(t, a, b)
	return w, a, b
}

// warm waits until the process tiers of cs answer: a tier announces
// itself at its first read and answers twice presence later.
func warm(t *testing.T, cs ...*keyedcache.Cache) {
	t.Helper()
	for _, c := range cs {
		keyedcache.Get[string](context.Background(), c, "warm-up")
	}
	time.Sleep(2*presence + presence/2)
}

// afterBound waits until a change made now must be visible everywhere.
func afterBound() { time.Sleep(staleness + staleness/2) }

func wantValue(t *testing.T, c *keyedcache.Cache, key, want, when string) {
	t.Helper()
	got, err := keyedcache.Get[string](context.Background(), c, key)
	if want == "" {
		if err == nil {
			t.Errorf("%s: %s = %q, want a miss", when, key, got)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("%s: %s = %q, %v; want %q", when, key, got, err, want)
	}
}

func TestNearHits(t *testing.T) {
	w, a, _ := nearPair(t)
	ctx := context.Background()
	a.Set(ctx, a.Key("k"), "v")
	wantValue(t, a, "k", "v", "first read")
	w.gets.Store(0)
	for range 10 {
		wantValue(t, a, "k", "v", "near read")
	}
	if n := w.gets.Load(); n != 0 { // the log checks read only the log
		t.Errorf("10 reads of a near entry read values from the backend %d times", n)
	}
	st := a.Stats()
	if st.ProcessHits != 10 || st.Hits != 11 {
		t.Errorf("stats: process hits %d, hits %d; want 10, 11", st.ProcessHits, st.Hits)
	}
	// A value read from the process tier is a copy.
	a.Set(ctx, a.Key("p"), product{Tags: []string{"a"}})
	p1, _ := keyedcache.Get[product](ctx, a, "p")
	p1.Tags[0] = "changed"
	p2, _ := keyedcache.Get[product](ctx, a, "p")
	if p2.Tags[0] != "a" {
		t.Errorf("a change to a value read from the process tier reached it: %v", p2.Tags)
	}
}

func TestNearSeesOtherProcessWrites(t *testing.T) {
	_, a, b := nearPair(t)
	ctx := context.Background()
	for _, k := range []string{"k", "tree", "tree::child", "tree::child::x", "treetop"} {
		b.Set(ctx, b.Key(k), "old")
		wantValue(t, a, k, "old", "fill")
	}

	b.Set(ctx, b.Key("k"), "new")
	wantValue(t, b, "k", "new", "the writer at once")
	afterBound()
	wantValue(t, a, "k", "new", "after a set elsewhere")

	b.Delete(ctx, "k")
	afterBound()
	wantValue(t, a, "k", "", "after a delete elsewhere")

	b.DeleteChildren(ctx, "tree")
	afterBound()
	wantValue(t, a, "tree", "", "after delete-with-children elsewhere")
	wantValue(t, a, "tree::child", "", "after delete-with-children elsewhere")
	wantValue(t, a, "tree::child::x", "", "after delete-with-children elsewhere")
	wantValue(t, a, "treetop", "old", "a sibling after delete-with-children elsewhere")

	if a.Stats().ProcessFlushes != 0 {
		t.Errorf("flushes %d with no lost invalidation", a.Stats().ProcessFlushes)
	}

	wantValue(t, a, "treetop", "old", "refill")
	b.Clear(ctx) // empties the store, counter and marker included: a flushes
	afterBound()
	wantValue(t, a, "treetop", "", "after Clear elsewhere")

	b.Set(ctx, b.Key("n"), 1)
	keyedcache.Get[int](ctx, a, "n")
	b.Incr(ctx, b.Key("n"), 1)
	afterBound()
	if n, _ := keyedcache.Get[int](ctx, a, "n"); n != 2 {
		t.Errorf("after Incr elsewhere: %d, want 2", n)
	}

	b.SetMany(ctx, map[string]any{"m1": "x", "m2": "y"})
	wantValue(t, a, "m1", "x", "fill")
	b.SetMany(ctx, map[string]any{"m1": "x2", "m2": "y2"})
	afterBound()
	got, _ := keyedcache.GetMany[string](ctx, a, "m1", "m2")
	if got["m1"] != "x2" || got["m2"] != "y2" {
		t.Errorf("GetMany after SetMany elsewhere: %v", got)
	}
	b.DeleteMany(ctx, "m1", "m2")
	afterBound()
	if got, _ := keyedcache.GetMany[string](ctx, a, "m1", "m2"); len(got) != 0 {
		t.Errorf("GetMany after DeleteMany elsewhere: %v", got)
	}
}

// cborNew is the stored form of "new": the CBOR tag byte, then a text
// string of three bytes.
var cborNew = []byte{0x01, 0x63, 'n', 'e', 'w'}

// The log's keys, as tier_near.go documents them.
const seqKey = "%near::seq"

func TestNearFlushesOnLostInvalidations(t *testing.T) {
	ctx := context.Background()
	t.Run("ring overrun", func(t *testing.T) {
		_, a, b := nearPair(t)
		b.Set(ctx, b.Key("k"), "old")
		wantValue(t, a, "k", "old", "fill")
		afterBound()
		wantValue(t, a, "k", "old", "after a check") // a has a log position now
		for i := range keyedcache.LogSlots + 5 {
			b.Set(ctx, b.Key("other", i), i)
		}
		b.Backend().Set(ctx, b.Key("k"), cborNew, backend.NoExpiry) // past the Cache: no log entry
		afterBound()
		wantValue(t, a, "k", "new", "after more changes than the ring holds")
		if a.Stats().ProcessFlushes != 1 {
			t.Errorf("flushes %d, want 1", a.Stats().ProcessFlushes)
		}
	})
	t.Run("slot overwritten", func(t *testing.T) {
		_, a, b := nearPair(t)
		b.Set(ctx, b.Key("k"), "old")
		wantValue(t, a, "k", "old", "fill")
		afterBound()
		wantValue(t, a, "k", "old", "after a check")
		b.Set(ctx, b.Key("k"), "new")
		seq, _, _ := b.Backend().Get(ctx, seqKey)
		n, _ := strconv.ParseInt(string(seq), 10, 64)
		slot := "%near::" + strconv.FormatInt(n%keyedcache.LogSlots, 10)
		b.Backend().Set(ctx, slot, []byte(strconv.FormatInt(n+keyedcache.LogSlots, 10)+" kother"), backend.NoExpiry)
		afterBound()
		wantValue(t, a, "k", "new", "after its log entry was overwritten")
		if a.Stats().ProcessFlushes != 1 {
			t.Errorf("flushes %d, want 1", a.Stats().ProcessFlushes)
		}
	})
	t.Run("counter lost", func(t *testing.T) {
		_, a, b := nearPair(t)
		b.Set(ctx, b.Key("k"), "old")
		wantValue(t, a, "k", "old", "fill")
		afterBound()
		wantValue(t, a, "k", "old", "after a check")
		b.Backend().Delete(ctx, seqKey) // evicted
		b.Backend().Set(ctx, b.Key("k"), cborNew, backend.NoExpiry)
		afterBound()
		wantValue(t, a, "k", "new", "after the counter vanished")
		if a.Stats().ProcessFlushes != 1 {
			t.Errorf("flushes %d, want 1", a.Stats().ProcessFlushes)
		}
	})
}

func TestNearBackendDown(t *testing.T) {
	w, a, _ := nearPair(t)
	ctx := context.Background()
	a.Set(ctx, a.Key("k"), "v")
	wantValue(t, a, "k", "v", "fill")
	wantValue(t, a, "k", "v", "near hit")
	w.down.Store(true)
	afterBound()
	// The check fails: the tier cannot know what changed, so it answers
	// nothing, and the read degrades to a miss, not an error.
	_, err := keyedcache.Get[string](ctx, a, "k")
	var miss *keyedcache.NotCachedError
	if !errors.As(err, &miss) {
		t.Fatalf("read while down: %v, want a *NotCachedError", err)
	}
	if a.Stats().ProcessFlushes != 1 {
		t.Errorf("flushes %d, want 1", a.Stats().ProcessFlushes)
	}
	w.down.Store(false)
	afterBound()
	wantValue(t, a, "k", "v", "back up")
	wantValue(t, a, "k", "v", "back up, from the tier again")
	if st := a.Stats(); st.ProcessHits != 2 {
		t.Errorf("process hits %d, want 2", st.ProcessHits)
	}
}

// A read that started before a change was applied must not leave its
// (old) value in the tier.
func TestNearFillAfterInvalidationRefused(t *testing.T) {
	w, a, b := nearPair(t)
	ctx := context.Background()
	b.Set(ctx, b.Key("k"), "old")
	wantValue(t, a, "other", "", "a first check")

	release := w.holdGets(a.Key("k"))
	done := make(chan string)
	go func() {
		v, _ := keyedcache.Get[string](ctx, a, "k")
		done <- v
	}()
	<-w.held // a has read "old" and is about to fill
	b.Set(ctx, b.Key("k"), "new")
	afterBound()
	wantValue(t, a, "other", "", "a check that applies the change") // its log check drops k
	release()
	if v := <-done; v != "old" {
		t.Fatalf("the held read returned %q", v)
	}
	wantValue(t, a, "k", "new", "the read after")
}

func TestNearConfig(t *testing.T) {
	dir := t.TempDir()
	c, err := keyedcache.Open("file://"+dir+"?near_entries=100&near_staleness=250ms&near_ttl=30s&timeout=10", keyedcache.WithPresenceEvery(presence))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	warm(t, c)
	c.Set(ctx, c.Key("k"), "v")
	keyedcache.Get[string](ctx, c, "k")
	keyedcache.Get[string](ctx, c, "k")
	if st := c.Stats(); st.ProcessHits != 1 {
		t.Errorf("file:// with near_entries: process hits %d, want 1", st.ProcessHits)
	}

	f := "file://" + dir
	for _, tc := range []struct{ url, want string }{
		{f + "?near_entries=-1", "parameter near_entries=\"-1\": want a whole number ≥ 0"},
		{f + "?near_entries=ten", "parameter near_entries=\"ten\""},
		{f + "?near_entries=10&near_staleness=0", "parameter near_staleness=\"0\""},
		{f + "?near_entries=10&near_ttl=soon", "parameter near_ttl=\"soon\""},
		{f + "?near_entrys=10", "valid: timeout, key_prefix, version, codec, near_entries, near_staleness, near_ttl, max_entries"},
		{"memory://?near_entries=10", "parameter near_entries: memory:// keeps its entries in this process already (or none): a process tier is for shared backends (valid: timeout, key_prefix, version, codec, max_entries"},
		{"dummy://?near_ttl=1s", "parameter near_ttl: dummy:// keeps its entries"},
	} {
		_, err := keyedcache.Open(tc.url)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %v; want a *backend.ConfigError containing %q", tc.url, err, tc.want)
		}
	}
}

func TestNearRefusedWhereUseless(t *testing.T) {
	mem, err := memory.New(memory.Options{ByReference: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	_, err = keyedcache.New(mem, keyedcache.WithNearCache(keyedcache.NearCache{MaxEntries: 10}))
	if err == nil || !strings.Contains(err.Error(), "by-reference") {
		t.Errorf("near cache on a by-reference store: %v", err)
	}
	_, err = keyedcache.New(dummy.Backend{}, keyedcache.WithNearCache(keyedcache.NearCache{MaxEntries: 10}))
	if err == nil || !strings.Contains(err.Error(), "increments atomically") {
		t.Errorf("near cache on a store without increments: %v", err)
	}
}

func TestNearTTLBoundsEntries(t *testing.T) {
	w := newWatched(t)
	c := cacheOn(t, w, nearOpts(keyedcache.NearCache{MaxEntries: 10, Staleness: time.Hour, TTL: 30 * time.Millisecond})...)
	warm(t, c)
	ctx := context.Background()
	c.Set(ctx, c.Key("k"), "old")
	wantValue(t, c, "k", "old", "fill")
	c.Backend().Set(ctx, c.Key("k"), cborNew, backend.NoExpiry) // past the Cache: no log entry
	wantValue(t, c, "k", "old", "within the near TTL")
	time.Sleep(50 * time.Millisecond)
	wantValue(t, c, "k", "new", "after the near TTL")
}
