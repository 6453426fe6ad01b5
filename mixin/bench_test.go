package mixin_test

import (
	"context"
	"testing"

	"keyedcache.dev/keyedcache"
)

// BenchmarkFindHit measures Find on a cached object against the same
// read done by hand with keyedcache.Get: the model's own cost on a hit.
//
//	go test -run '^$' -bench Hit -benchmem -count 6 ./mixin/ | tee /tmp/mixin.txt
//	benchstat -col /read /tmp/mixin.txt
func BenchmarkFindHit(b *testing.B) {
	ctx := context.Background()
	c := openCache(b, "memory://")
	s := newShop(b, c, "")
	s.insert(b, kite())
	mustFind(b, s, 1)

	b.Run("read=keyedcache.Get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := keyedcache.Get[Product](ctx, c, "Product", int64(1))
			if err != nil || p.ID != 1 {
				b.Fatal(p, err)
			}
		}
	})
	b.Run("read=Model.Find", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := s.products.Find(ctx, 1)
			if err != nil || p.ID != 1 {
				b.Fatal(p, err)
			}
		}
	})
	b.Run("read=Index.Find", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := s.bySlug.Find(ctx, "red-kite")
			if err != nil || p.ID != 1 {
				b.Fatal(p, err)
			}
		}
	})
}
