package keyedcache_test

import (
	"bytes"
	"context"
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
