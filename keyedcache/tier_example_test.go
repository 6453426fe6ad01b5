package keyedcache_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"keyedcache.dev/keyedcache"
)

func ExampleNearCache() {
	dir, _ := os.MkdirTemp("", "near")
	defer os.RemoveAll(dir)
	// A shared backend (here files; usually redis:// or memcached://)
	// with a process tier of up to 10,000 entries that sees other
	// processes' changes within 100ms.
	url := "file://" + dir + "?near_entries=10000&near_staleness=100ms"
	web1, _ := keyedcache.Open(url)
	defer web1.Close()
	web2, _ := keyedcache.Open(url) // another process
	defer web2.Close()
	ctx := context.Background()

	web1.Set(ctx, web1.Key("price", 7), 100)
	keyedcache.Get[int](ctx, web2, "price", 7) // web2's tier announces itself
	time.Sleep(keyedcache.NearWarmUp)          // and answers once every writer must know of it
	for range 3 {
		keyedcache.Get[int](ctx, web2, "price", 7)
	}
	fmt.Println("process tier hits:", web2.Stats().ProcessHits)

	web1.Set(ctx, web1.Key("price", 7), 120)
	time.Sleep(100 * time.Millisecond) // the staleness bound
	p, _ := keyedcache.Get[int](ctx, web2, "price", 7)
	fmt.Println("price after the bound:", p)
	// Output:
	// process tier hits: 2
	// price after the bound: 120
}

func ExampleWithRequestTier() {
	cache, _ := keyedcache.Open("memory://")
	defer cache.Close()
	ctx, release := keyedcache.WithRequestTier(context.Background())
	defer release()

	cache.Set(ctx, cache.Key("user", 1), "ada")
	for range 3 {
		keyedcache.Get[string](ctx, cache, "user", 1)
	}
	st := cache.Stats()
	fmt.Println("hits:", st.Hits, "from the request tier:", st.RequestHits)
	// Output: hits: 3 from the request tier: 3
}

func ExampleSkipTiers() {
	cache, _ := keyedcache.Open("memory://")
	defer cache.Close()
	bg := context.Background()
	cache.Set(bg, cache.Key("job", "state"), "running")

	ctx, release := keyedcache.WithRequestTier(bg)
	defer release()
	keyedcache.Get[string](ctx, cache, "job", "state")   // kept by the request tier
	cache.Set(bg, cache.Key("job", "state"), "finished") // another process

	kept, _ := keyedcache.Get[string](ctx, cache, "job", "state")
	fresh, _ := keyedcache.Get[string](keyedcache.SkipTiers(ctx), cache, "job", "state")
	fmt.Println(kept, fresh)
	// Output: running finished
}
