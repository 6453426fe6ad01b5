package redis

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/redis"
)

// generationsOnly hides the Store's prefix delete (and every capability
// but the basic contract and Multi), so that the core falls back to
// namespace generations for delete-with-children.
type generationsOnly struct {
	backend.Backend
	backend.Multi
}

// BenchmarkChildren compares the two ways delete-with-children can work on
// redis://: the Store's index (impl=index, what the backend does) and the
// core's namespace generations (impl=generations, what it would cost
// without the index), for a read (a hit), a write, and a
// delete-with-children of a product, at 1 and 64 goroutines. The products
// have no children and are gone after the first pass, so the delete
// measures the fixed cost of one: with the index, a script that finds the
// prefix's range empty and a Delete; with generations, a new token. (The
// index also pays for each key it deletes, O(log N) apiece; generations
// leave the hidden entries to expire.)
func BenchmarkChildren(b *testing.B) {
	srv := startServer(b)
	open := func(impl string) *keyedcache.Cache {
		s, err := redis.New(redis.Options{Addrs: []string{srv.Addr}})
		if err != nil {
			b.Fatal(err)
		}
		var be backend.Backend = s
		if impl == "generations" {
			be = generationsOnly{s, s}
		}
		c, err := keyedcache.New(be, keyedcache.WithKeyPrefix(impl), keyedcache.WithAlias(impl))
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	for _, g := range []int{1, 64} {
		for _, impl := range []string{"index", "generations"} {
			c := open(impl)
			for i := range numKeys {
				if err := c.Set(ctx, "product::"+strconv.Itoa(i), product(i)); err != nil {
					b.Fatal(err)
				}
			}
			warm(b, func(ctx context.Context, i int) error {
				_, err := keyedcache.Get[Product](ctx, c, "product", i%numKeys)
				return err
			})
			b.Run(fmt.Sprintf("op=get/g=%d/impl=%s", g, impl), func(b *testing.B) {
				run(b, g, func(ctx context.Context, i int) error {
					_, err := keyedcache.Get[Product](ctx, c, "product", i%numKeys)
					return err
				})
			})
			b.Run(fmt.Sprintf("op=set/g=%d/impl=%s", g, impl), func(b *testing.B) {
				run(b, g, func(ctx context.Context, i int) error {
					return c.Set(ctx, "product::"+strconv.Itoa(i%numKeys), product(i%numKeys))
				})
			})
			b.Run(fmt.Sprintf("op=delete-children/g=%d/impl=%s", g, impl), func(b *testing.B) {
				run(b, g, func(ctx context.Context, i int) error {
					return c.DeleteChildren(ctx, "product", i%numKeys)
				})
			})
			if st := c.Stats(); st.Errors > 0 {
				b.Fatalf("%d errors", st.Errors)
			}
			c.Close()
		}
	}
}
