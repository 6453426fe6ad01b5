package keyedcache_test

import (
	"context"
	"testing"
)

// BenchmarkSetValues writes typical values through the codec (copy mode):
// a struct whose type cannot refer to itself (not looked at before
// encoding) and a map of interfaces (looked at), to show what the look
// for values that refer to themselves costs.
func BenchmarkSetValues(b *testing.B) {
	ctx := context.Background()
	c := open(b, "memory://")
	key := c.Key("product", 1)
	values := map[string]any{
		"struct": product{ID: 1, Name: "p", Tags: []string{"a", "b"}},
		"map": map[string]any{"id": 1, "name": "p", "tags": []any{"a", "b"}, "price": 9.99,
			"nested": map[string]any{"a": 1, "b": []any{1, 2, 3}}},
	}
	for name, v := range values {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Set(ctx, key, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKeyUnderBuiltKey builds keys under a key built once, as a
// cached function does for every call: func::<name>::<argument>.
func BenchmarkKeyUnderBuiltKey(b *testing.B) {
	c := open(b, "memory://?key_prefix=site1")
	head := c.Key("func", "keyedcache.dev/examples/demo.loadProduct")
	b.Run("int", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Key(head, 123)
		}
	})
	b.Run("string", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Key(head, "xl")
		}
	})
}
