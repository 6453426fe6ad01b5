package memcached_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// BenchmarkListKeys reads the first page of 50 keys of an alias on
// memcached through the core, as the staff page does. memcached can only
// dump its keys in no order (lru_crawler metadump), and delete-with-
// children runs on namespace generations here, so a page is one pass
// over the dump of every key under the namespace: it grows with the
// keys, unlike on the backends that list in order from a cursor.
// KEYEDCACHE_BENCH_MILLION=1 adds a run at a million keys.
func BenchmarkListKeys(b *testing.B) {
	sizes := []int{10, 10_000, 100_000}
	if os.Getenv("KEYEDCACHE_BENCH_MILLION") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			srv := testserver.Memcached(b, testserver.Args("-m", "2048"))
			store := newStore(b, memcached.Options{Servers: []string{srv.Addr}, Namespace: "bench:"})
			c, err := keyedcache.New(store)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := w; i < n; i += 8 {
						if err := c.Set(ctx, c.Key("group"+fmt.Sprint(i%10), "item", fmt.Sprintf("%08d", i)), 1); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			for b.Loop() {
				p, err := c.ListKeys(ctx, "", "", 50)
				if err != nil || len(p.Keys) != min(n, 50) {
					b.Fatal(len(p.Keys), err)
				}
			}
		})
	}
}
