package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	_ "keyedcache.dev/keyedcache/backend/redis" // registers redis://, rediss://, unix://, redis-cluster://
)

type Product struct {
	ID   int
	Name string
}

// A program caches in Redis by naming it in a URL. (This example needs a
// redis-server on 127.0.0.1:6379, so it is compiled but not run.)
func Example() {
	shop, err := keyedcache.Open("redis://:secret@127.0.0.1:6379/0?key_prefix=shop&timeout=10m&read_timeout=200ms",
		keyedcache.WithAlias("shop"))
	if err != nil {
		log.Fatal(err) // a bad URL or parameter; a server that is down is not an error here
	}
	defer shop.Close()
	ctx := context.Background()

	p, err := keyedcache.Get[Product](ctx, shop, "product", 123)
	var miss *keyedcache.NotCachedError
	if errors.As(err, &miss) { // a miss, or Redis down: compute and store
		p = Product{ID: 123, Name: "Widget"}
		shop.Set(ctx, miss.Key, p, keyedcache.TTL(time.Hour))
	}
	fmt.Println(p.Name)

	// Delete product 123 and everything under it (shop::product::123::*)
	// in every process, through the store's index: no keyspace scan.
	shop.DeleteChildren(ctx, "product", 123)
}

// A bad parameter fails Open with an error that names it, and never shows
// the password.
func ExampleOpen() {
	_, err := keyedcache.Open("redis://app:secret@cache.internal:6379/2?read_timeout=fast")
	var ce *backend.ConfigError
	if errors.As(err, &ce) {
		fmt.Println(ce.Param, ce.Value)
		fmt.Println(err)
	}
	// Output:
	// read_timeout fast
	// keyedcache: redis://app:xxxxx@cache.internal:6379/2?read_timeout=fast: parameter read_timeout="fast": want a positive number of seconds or a duration such as 500ms or 1m30s
}
