package keyedcache_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"keyedcache.dev/keyedcache"
)

func BenchmarkKey(b *testing.B) {
	c := open(b, "memory://")
	b.Run("scalars", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Key("product", 123)
		}
	})
	b.Run("scalars_with_prefix_and_kv", func(b *testing.B) {
		p := open(b, "memory://?key_prefix=site1")
		b.ReportAllocs()
		for b.Loop() {
			_ = p.Key("product", 123, keyedcache.KV{"size": "xl"})
		}
	})
	b.Run("built_key", func(b *testing.B) {
		k := c.Key("product", 123)
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Key(k)
		}
	})
	b.Run("struct_hashed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Key("p", point{1, 2})
		}
	})
	b.Run("sprintf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = fmt.Sprintf("product::%d", 123)
		}
	})
}

func BenchmarkGetHit(b *testing.B) {
	ctx := context.Background()
	for _, u := range []string{"memory://", "memory://?by_reference=true"} {
		c := open(b, u)
		keys := make([]string, 1000)
		for i := range keys {
			keys[i] = c.Key("product", i)
			c.Set(ctx, keys[i], product{ID: int64(i), Name: "p" + strconv.Itoa(i), Tags: []string{"a"}})
		}
		b.Run(u, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := keyedcache.Get[product](ctx, c, keys[i%len(keys)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}

func BenchmarkSet(b *testing.B) {
	ctx := context.Background()
	c := open(b, "memory://?by_reference=true")
	key := c.Key("product", 1)
	v := product{ID: 1, Name: "p"}
	b.ReportAllocs()
	for b.Loop() {
		c.Set(ctx, key, v)
	}
}
