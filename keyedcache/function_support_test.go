package keyedcache_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

// rawCaches are caches on which the byte-level operations are checked:
// the memory backend with every capability, with compare-and-swap and
// generations only, and bare (generations, read-compare-write), and the
// file backend.
func rawCaches(t *testing.T) map[string]*keyedcache.Cache {
	t.Helper()
	out := map[string]*keyedcache.Cache{}
	mem := func() *memory.Store {
		s, err := memory.New(memory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for name, b := range map[string]backend.Backend{
		"memory": mem(),
		"cas":    func() backend.Backend { s := mem(); return casOnly{s, s, s} }(),
		"bare":   func() backend.Backend { s := mem(); return bare{s, s} }(),
	} {
		c, err := keyedcache.New(b, keyedcache.WithKeyPrefix("p"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		out[name] = c
	}
	c, err := keyedcache.Open("file://" + t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	out["file"] = c
	return out
}

func TestBytesOperations(t *testing.T) {
	ctx := context.Background()
	for name, c := range rawCaches(t) {
		t.Run(name, func(t *testing.T) {
			key := c.Key("func", "f", 1)
			a, err := c.Encode(product{ID: 1, Name: "a"})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := c.Encode(product{ID: 2, Name: "b"})

			if _, found, err := c.GetBytes(ctx, key); found || err != nil {
				t.Fatalf("GetBytes of nothing: found %v, %v", found, err)
			}
			if ok, err := c.CompareAndSwap(ctx, key, a, b); ok || err != nil {
				t.Fatalf("CompareAndSwap of a missing entry: %v, %v; want false", ok, err)
			}
			if ok, err := c.AddBytes(ctx, key, a); !ok || err != nil {
				t.Fatalf("AddBytes: %v, %v", ok, err)
			}
			if ok, _ := c.AddBytes(ctx, key, b); ok {
				t.Fatal("AddBytes over a live entry stored")
			}
			got, found, err := c.GetBytes(ctx, key)
			if !found || err != nil || !bytes.Equal(got, a) {
				t.Fatalf("GetBytes = %x, %v, %v; want %x", got, found, err, a)
			}
			var p product
			if err := c.Decode(got, &p); err != nil || p.Name != "a" {
				t.Fatalf("Decode = %+v, %v", p, err)
			}
			// What Set stores, Get reads, and the other way round.
			if v, err := keyedcache.Get[product](ctx, c, key); err != nil || v.Name != "a" {
				t.Fatalf("Get of an entry written as bytes: %+v, %v", v, err)
			}

			if ok, _ := c.CompareAndSwap(ctx, key, b, a); ok {
				t.Fatal("CompareAndSwap with the wrong old bytes swapped")
			}
			if ok, err := c.CompareAndSwap(ctx, key, a, b, keyedcache.TTL(time.Minute)); !ok || err != nil {
				t.Fatalf("CompareAndSwap with the right old bytes: %v, %v", ok, err)
			}
			if got, _, _ := c.GetBytes(ctx, key); !bytes.Equal(got, b) {
				t.Fatalf("after the swap: %x, want %x", got, b)
			}

			// A delete with children of a prefix, in any form, makes the
			// old bytes unswappable.
			c.DeleteChildren(ctx, "func", "f")
			if ok, _ := c.CompareAndSwap(ctx, key, b, a); ok {
				t.Fatal("CompareAndSwap after DeleteChildren swapped")
			}
			if _, found, _ := c.GetBytes(ctx, key); found {
				t.Fatal("the entry came back")
			}

			if err := c.SetBytes(ctx, key, a); err != nil {
				t.Fatal(err)
			}
			c.Enable(false)
			if _, found, _ := c.GetBytes(ctx, key); found {
				t.Fatal("GetBytes found an entry while disabled")
			}
			if ok, _ := c.CompareAndSwap(ctx, key, a, b); ok {
				t.Fatal("CompareAndSwap swapped while disabled")
			}
			c.Enable(true)
			if err := c.SetBytes(ctx, key, a, keyedcache.TTL(0)); err != nil {
				t.Fatal(err)
			}
			if _, found, _ := c.GetBytes(ctx, key); found {
				t.Fatal("SetBytes with TTL 0 did not delete")
			}
		})
	}
}

func TestBytesTTL(t *testing.T) {
	ctx := context.Background()
	for name, c := range rawCaches(t) {
		t.Run(name, func(t *testing.T) {
			key := c.Key("ttl")
			data, _ := c.Encode("v")
			c.AddBytes(ctx, key, data, keyedcache.TTL(30*time.Millisecond))
			time.Sleep(60 * time.Millisecond)
			if _, found, _ := c.GetBytes(ctx, key); found {
				t.Fatal("an entry outlived its TTL")
			}
			if ok, _ := c.AddBytes(ctx, key, data); !ok {
				t.Fatal("AddBytes over an expired entry did not store")
			}
		})
	}
}

func TestDecodeRejectsJunk(t *testing.T) {
	c, err := keyedcache.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s string
	for _, junk := range [][]byte{nil, {0x7e}, {0x01, 0xff, 0xff}} {
		if err := c.Decode(junk, &s); err == nil {
			t.Errorf("Decode(%x) succeeded", junk)
		}
	}
}

// TestKeyAfter checks that KeyAfter builds exactly the key Key builds
// from the head and the same parts, whatever the head and the parts: a
// function's results must stay under the keys they always had.
func TestKeyAfter(t *testing.T) {
	long := strings.Repeat("x", 120)
	heads := [][]any{
		{"func", "example.com/pkg.find"},
		{"func", "a::b"},
		{"p", 1, 2},
		{"with space", "and:colon", "100%"},
		{long, long},
		{long, long, long},
		{"func", "héllo", []byte{0xff}},
		{""},
		{},
	}
	parts := [][]any{
		{7},
		{-123456789},
		{uint8(3), "x"},
		{"plain"},
		{"needs escape: yes"},
		{"::lead"},
		{"%unkeyable"},
		{3.5, true, nil},
		{time.Duration(90) * time.Second},
		{time.Unix(1700000000, 5).UTC()},
		{[]byte("bytes")},
		{struct{ A, B int }{1, 2}},
		{keyedcache.KV{"k": 1}},
		{[]int{1, 2}},
		{long},
		{long, long},
		{},
	}
	for _, prefix := range []string{"", "site1"} {
		c, err := keyedcache.Open("memory://", keyedcache.WithKeyPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, hp := range heads {
			h := c.KeyHead(hp...)
			if h.Key() != c.Key(hp...) {
				t.Errorf("prefix %q: KeyHead(%v).Key() = %q, want %q", prefix, hp, h.Key(), c.Key(hp...))
			}
			for _, pp := range parts {
				got := c.KeyAfter(h, pp...)
				want := c.Key(append([]any{h.Key()}, pp...)...)
				if got != want {
					t.Errorf("prefix %q: KeyAfter(%v, %v) = %q, want %q", prefix, hp, pp, got, want)
				}
			}
		}
	}
}

// TestInvalidatedSince checks which deletes InvalidatedSince reports for
// a key: its own, a parent's with children, a clear; not another key's,
// nor a parent's without children; and, past what it keeps, every one.
func TestInvalidatedSince(t *testing.T) {
	ctx := context.Background()
	c, err := keyedcache.Open("memory://", keyedcache.WithKeyPrefix("p"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key := c.Key("func", "f", 1)
	for _, tc := range []struct {
		name string
		del  func() error
		want bool
	}{
		{"nothing", func() error { return nil }, false},
		{"Delete of the key", func() error { _, err := c.Delete(ctx, key); return err }, true},
		{"Delete of another key", func() error { _, err := c.Delete(ctx, "func", "f", 2); return err }, false},
		{"Delete of the parent", func() error { _, err := c.Delete(ctx, "func", "f"); return err }, false},
		{"Delete of a key it continues", func() error { _, err := c.Delete(ctx, "func", "f", 1, "x"); return err }, false},
		{"DeleteMany with the key", func() error { _, err := c.DeleteMany(ctx, "a", key); return err }, true},
		{"DeleteMany without", func() error { _, err := c.DeleteMany(ctx, "a", "b"); return err }, false},
		{"DeleteChildren of the parent", func() error { return c.DeleteChildren(ctx, "func", "f") }, true},
		{"DeleteChildren of the key", func() error { return c.DeleteChildren(ctx, key) }, true},
		{"DeleteChildren of a sibling", func() error { return c.DeleteChildren(ctx, "func", "g") }, false},
		{"DeleteChildren of a longer name", func() error { return c.DeleteChildren(ctx, "func", "f", 12) }, false},
		{"DeleteListed", func() error { return c.DeleteListed(ctx, "func::f::1", false) }, true},
		{"Touch to zero", func() error { _, err := c.Touch(ctx, key, 0); return err }, true},
		{"Clear", func() error { return c.Clear(ctx) }, true},
		{"Set", func() error { return c.Set(ctx, key, 1) }, false},
		{"many other deletes", func() error {
			for i := range 100 {
				if _, err := c.Delete(ctx, "other", i); err != nil {
					return err
				}
			}
			return nil
		}, true}, // more than it keeps: it cannot tell
	} {
		mark := c.Invalidations()
		if err := tc.del(); err != nil {
			t.Fatal(err)
		}
		if got := c.InvalidatedSince(mark, key); got != tc.want {
			t.Errorf("%s: InvalidatedSince = %v, want %v", tc.name, got, tc.want)
		}
	}
}
