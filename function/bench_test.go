package function_test

import (
	"context"
	"testing"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
)

// The hit path of a cached function next to a plain CacheGet hit of the
// same value on the same cache (bench/function compares more).

type benchValue struct {
	ID   int
	Name string
	Tags []string
}

func benchFn(ctx context.Context, id int) (benchValue, error) {
	return benchValue{ID: id, Name: "restaurant", Tags: []string{"a", "b"}}, nil
}

func BenchmarkHit(b *testing.B) {
	ctx := context.Background()
	for _, url := range []string{"memory://", "memory://?by_reference=true"} {
		c, err := keyedcache.Open(url)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		v, _ := benchFn(ctx, 7)
		c.Set(ctx, c.Key("product", 7), v)
		b.Run("CacheGet/"+url, func(b *testing.B) {
			for b.Loop() {
				if _, err := keyedcache.Get[benchValue](ctx, c, "product", 7); err != nil {
					b.Fatal(err)
				}
			}
		})
		f := function.New(benchFn, function.WithCache(c))
		f.Call(ctx, 7)
		b.Run("Func.Call/"+url, func(b *testing.B) {
			for b.Loop() {
				if _, err := f.Call(ctx, 7); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
