package groupcache_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	_ "keyedcache.dev/keyedcache/backend/groupcache"
)

// A one-peer cluster; a real one lists every process in peers, the same
// list everywhere, each process naming itself in the URL's host:port.
// This Example is the only node of its test process (one per process).
func Example() {
	ctx := context.Background()
	l, _ := net.Listen("tcp", "127.0.0.1:0") // a free port, for the example
	self := l.Addr().String()
	l.Close()

	c, err := keyedcache.Open("groupcache://" + self + "?peers=http://" + self + "&max_stale=30s")
	if err != nil {
		panic(err)
	}
	defer c.Close()

	// The cache API as on any backend: the key's owner keeps the entry.
	c.Set(ctx, c.Key("product", 1), "shoe", keyedcache.TTL(time.Minute))
	c.Set(ctx, c.Key("product", 1, "summary"), "a shoe")
	name, _ := keyedcache.Get[string](ctx, c, "product", 1)
	fmt.Println(name)

	// Fill computes each key once across every peer that asks.
	f := c.Backend().(backend.Filler)
	calls := 0
	f.RegisterFill("upper", func(ctx context.Context, key string) ([]byte, error) {
		calls++
		return []byte(strings.ToUpper(strings.TrimPrefix(key, "func::upper::"))), nil
	})
	for range 3 {
		v, _ := f.Fill(ctx, "upper", "func::upper::boot", time.Hour)
		fmt.Println(string(v), calls)
	}

	// Deleting with children forgets entries and fill results under the key.
	c.DeleteChildren(ctx, "product", 1)
	fmt.Println(c.IsCached(ctx, "product", 1), c.IsCached(ctx, "product", 1, "summary"))
	c.Backend().(backend.PrefixDeleter).DeletePrefix(ctx, "func::upper::")
	f.Fill(ctx, "upper", "func::upper::boot", time.Hour)
	fmt.Println("calls after the delete:", calls)
	// Output:
	// shoe
	// BOOT 1
	// BOOT 1
	// BOOT 1
	// false false
	// calls after the delete: 2
}
