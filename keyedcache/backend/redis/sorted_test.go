package redis_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/redis"
)

// bothModes runs f on a store on one real redis-server and on a store on
// a real three-master cluster, each emptied first.
func bothModes(t *testing.T, f func(t *testing.T, s *redis.Store)) {
	srv := testserver.Redis(t)
	cl := testserver.RedisCluster(t)
	for _, m := range []struct {
		name, url string
		opt       rueidis.ClientOption
	}{
		{"standalone", "redis://" + srv.Addr, rueidis.ClientOption{InitAddress: []string{srv.Addr}}},
		{"cluster", "redis-cluster://" + strings.Join(cl.Addrs, ","), rueidis.ClientOption{InitAddress: cl.Addrs}},
	} {
		t.Run(m.name, func(t *testing.T) {
			flush(t, raw(t, m.opt))
			f(t, connected(t, open(t, patient(m.url))))
		})
	}
}

// listAfter returns what ScanKeysAfter passes to fn when fn takes up to
// stop keys (stop < 0: all of them).
func listAfter(t *testing.T, s *redis.Store, prefix, after string, stop int) []string {
	t.Helper()
	got := []string{}
	complete, err := s.ScanKeysAfter(ctxFor(t), prefix, after, func(k string) bool {
		if stop >= 0 && len(got) >= stop {
			t.Fatalf("ScanKeysAfter(%q, %q) called fn again after it returned false", prefix, after)
		}
		got = append(got, k)
		return stop < 0 || len(got) < stop
	})
	if err != nil || !complete {
		t.Fatalf("ScanKeysAfter(%q, %q) = %v, %v; want complete", prefix, after, complete, err)
	}
	return got
}

// expect is the brute-force answer: the keys of sorted that start with
// prefix and sort after after.
func expect(sorted []string, prefix, after string) []string {
	want := []string{}
	for _, k := range sorted {
		if strings.HasPrefix(k, prefix) && (after == "" || k > after) {
			want = append(want, k)
		}
	}
	return want
}

// firstDiff describes where got first differs from want.
func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("key %d is %q, want %q", i, got[i], want[i])
		}
	}
	if len(got) > len(want) {
		return fmt.Sprintf("extra key %q", got[len(want)])
	}
	if len(got) < len(want) {
		return fmt.Sprintf("missing key %q", want[len(got)])
	}
	return "the same keys"
}

// oddKeys returns n random keys made of pieces that sort at the edges of
// byte order — NUL, 0xff, 0x7f/0x80, ":" beside "::" and ";" — and a few
// fixed ones that are prefixes of others.
func oddKeys(n int) []string {
	pieces := []string{"\x00", "\x01", "\x7f", "\x80", "\xfe", "\xff", ":", "::", ";", "0", "9", "a", "a::", "ab", "b", "z"}
	r := rand.New(rand.NewPCG(6, 9))
	set := map[string]bool{}
	for _, k := range []string{"a", "a::", "a::\x00", "a::\xff", "a:9", "a:;", "a\x00", "\x00", "\x00\x00", "\xff", "\xff\xff", "\xff\xff\xff"} {
		set[k] = true
	}
	for len(set) < n {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		set[b.String()] = true
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	return keys
}

// TestScanKeysAfter checks the order, the prefix and cursor bounds,
// stopping, and that keys of expired and deleted entries are left out,
// against a brute-force answer, on one server and on a cluster.
func TestScanKeysAfter(t *testing.T) {
	bothModes(t, func(t *testing.T, s *redis.Store) {
		ctx := ctxFor(t)
		items := map[string][]byte{}
		for _, k := range oddKeys(400) {
			items[k] = []byte("v")
		}
		// A run of keys longer than several batches, so that listings
		// cross batch boundaries on one server too.
		for i := range 300 {
			items[fmt.Sprintf("run::%04d", i)] = []byte("v")
		}
		if err := s.SetMany(ctx, items, time.Minute); err != nil {
			t.Fatalf("SetMany: %v", err)
		}
		// Entries that expire: a block longer than a batch, where a
		// batch finds no live key at all, and others between live keys.
		dead := map[string][]byte{}
		for i := range 150 {
			dead[fmt.Sprintf("dead::%04d", i)] = []byte("x")
		}
		for i := range 300 {
			if i%3 == 0 {
				dead[fmt.Sprintf("run::%04d~", i)] = []byte("x")
			}
		}
		dead["a::"+"\x00dead"] = []byte("x")
		if err := s.SetMany(ctx, dead, 250*time.Millisecond); err != nil {
			t.Fatalf("SetMany: %v", err)
		}
		deleted := []string{"a", "run::0100", "run::0101", "\xff\xff"}
		for _, k := range deleted {
			if existed, err := s.Delete(ctx, k); err != nil || !existed {
				t.Fatalf("Delete(%q) = %v, %v", k, existed, err)
			}
			delete(items, k)
		}
		time.Sleep(300 * time.Millisecond)
		if n := indexEntries(t, s); n != len(items)+len(dead) {
			t.Fatalf("index_entries = %d, want %d live and %d expired: the test needs dead entries in the index", n, len(items), len(dead))
		}
		live := make([]string, 0, len(items))
		for k := range items {
			live = append(live, k)
		}
		slices.Sort(live)

		prefixes := []string{"", "a", "a:", "a::", "a::\x00", "\x00", "\xff", "\xff\xff", "run::", "run::01", "run::0299", "dead::", "nothing", live[37], live[201]}
		for _, p := range prefixes {
			afters := []string{"", p, "\x00", "\xff\xff\xff\xff", p + "\x00", p + "\xff", p[:max(0, len(p)-1)]}
			if under := expect(live, p, ""); len(under) > 0 {
				afters = append(afters, under[0], under[len(under)/2], under[len(under)-1], under[len(under)/3]+"\x00")
			}
			for _, a := range afters {
				if got, want := listAfter(t, s, p, a, -1), expect(live, p, a); !slices.Equal(got, want) {
					t.Errorf("ScanKeysAfter(%q, %q): %d keys, want %d; %s", p, a, len(got), len(want), firstDiff(got, want))
				}
			}
		}

		// fn stops the listing, at and around batch sizes.
		for _, n := range []int{1, 2, 4, 5, 51, 63, 64, 65, 129, 300} {
			for _, a := range []string{"", "run::0050"} {
				want := expect(live, "", a)[:n]
				if got := listAfter(t, s, "", a, n); !slices.Equal(got, want) {
					t.Errorf("ScanKeysAfter(\"\", %q) stopped after %d: got %q, want %q", a, n, got, want)
				}
			}
		}

		// ScanKeys sees the same keys.
		var all []string
		if _, err := s.ScanKeys(ctx, "", func(k string) bool { all = append(all, k); return true }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(all)
		if !slices.Equal(all, live) {
			t.Errorf("ScanKeys lists %d keys, ScanKeysAfter %d", len(all), len(live))
		}
	})
}

// TestScanKeysAfterFails checks that a listing ends with an error when
// its context ends or the store is closed, without passing on keys it
// has not read.
func TestScanKeysAfterFails(t *testing.T) {
	srv := testserver.Redis(t)
	s := connected(t, open(t, patient("redis://"+srv.Addr)))
	items := map[string][]byte{}
	for i := range 1000 {
		items[fmt.Sprintf("k::%04d", i)] = []byte("v")
	}
	if err := s.SetMany(ctxFor(t), items, time.Minute); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctxFor(t))
	cancel()
	if _, err := s.ScanKeysAfter(ctx, "k::", "", func(string) bool { return true }); !errors.Is(err, context.Canceled) {
		t.Fatalf("ScanKeysAfter with a cancelled context = %v, want context.Canceled", err)
	}
	// Cancelled while listing: the keys already read may be passed on,
	// but the listing stops at the next read.
	ctx, cancel = context.WithCancel(ctxFor(t))
	defer cancel()
	n := 0
	_, err := s.ScanKeysAfter(ctx, "k::", "", func(string) bool { n++; cancel(); return true })
	if !errors.Is(err, context.Canceled) || n == 0 || n >= len(items) {
		t.Fatalf("ScanKeysAfter cancelled in fn = %v after %d keys; want context.Canceled before the end", err, n)
	}
	s.Close()
	if _, err := s.ScanKeysAfter(ctxFor(t), "", "", func(string) bool { return true }); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("ScanKeysAfter after Close = %v, want ErrClosed", err)
	}
}

// pageThrough reads every page of c.ListKeys under prefix and checks
// that each was read in order (Seen -1) and complete.
func pageThrough(t *testing.T, c *keyedcache.Cache, prefix string, limit int) (keys []string, pages int) {
	t.Helper()
	keys, ps := backendtest.ListAll(t, c, prefix, limit)
	for _, p := range ps {
		if !p.Complete || p.Seen != -1 {
			t.Fatalf("ListKeys: Complete=%v Seen=%d; want a complete page read in order (Seen -1)", p.Complete, p.Seen)
		}
	}
	return keys, len(ps)
}

// TestListKeysPages pages through a cache's keys with the core's
// ListKeys, which lists in order on this backend: every live key of the
// alias once, in order, and nothing of another alias on the same server.
func TestListKeysPages(t *testing.T) {
	bothModes(t, func(t *testing.T, s *redis.Store) {
		ctx := ctxFor(t)
		c, err := keyedcache.New(s, keyedcache.WithKeyPrefix("shop"), keyedcache.WithVersion(2))
		if err != nil {
			t.Fatal(err)
		}
		other, err := keyedcache.New(s, keyedcache.WithKeyPrefix("shop"))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := range 600 {
			k := c.Key("item", i)
			if err := c.Set(ctx, k, i); err != nil {
				t.Fatal(err)
			}
			other.Set(ctx, other.Key("item", i), i)
			switch {
			case i%10 == 3:
				c.Delete(ctx, k)
			default:
				want = append(want, strings.TrimPrefix(k, c.KeyPrefix()))
			}
		}
		for i := range 40 {
			c.Set(ctx, c.Key("item", i, "gone"), i, keyedcache.TTL(50*time.Millisecond))
		}
		for _, k := range []string{"a", "user::7", "user::7::cart", "z"} {
			c.Set(ctx, c.Key(k), k)
			want = append(want, strings.TrimPrefix(c.Key(k), c.KeyPrefix()))
		}
		time.Sleep(100 * time.Millisecond)
		slices.Sort(want)

		got, n := pageThrough(t, c, "", 50)
		if !slices.Equal(got, want) || n != (len(want)+49)/50 {
			t.Errorf("pages of 50: %d keys in %d pages, want %d in order; %s", len(got), n, len(want), firstDiff(got, want))
		}
		items := expect(want, "item::", "")
		got, _ = pageThrough(t, c, "item::", 7)
		if !slices.Equal(got, items) {
			t.Errorf("pages of 7 under item::: %d keys, want %d; %s", len(got), len(items), firstDiff(got, items))
		}
		p, err := c.ListKeys(ctx, "item::2", "item::25", 3)
		if err != nil {
			t.Fatal(err)
		}
		if w := []string{"item::250", "item::251", "item::252"}; !slices.Equal(p.Keys, w) || !p.More {
			t.Errorf("ListKeys(item::2 after item::25, 3) = %q More=%v, want %q and More", p.Keys, p.More, w)
		}
	})
}
