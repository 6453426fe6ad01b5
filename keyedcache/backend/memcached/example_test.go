package memcached_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// Product is a cached value of the examples.
type Product struct {
	ID   int
	Name string
}

// Example opens a cache on memcached by URL and uses it through the
// keyedcache API: the key prefix keeps this alias's keys apart from
// others on the same servers, and delete-with-children works although
// memcached cannot find keys by prefix.
func Example() {
	addr := exampleAddr // in a real program, such as "10.0.0.5:11211,10.0.0.6:11211"
	c, err := keyedcache.Open("memcached://" + addr + "?key_prefix=shop&timeout=300&net_timeout=2s")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	c.Set(ctx, c.Key("product", 123), Product{ID: 123, Name: "Widget"})
	c.Set(ctx, c.Key("product", 123, "reviews"), []string{"good", "fine"})
	p, err := keyedcache.Get[Product](ctx, c, "product", 123)
	fmt.Println(p.Name, err)

	// Deleting product::123 with its children removes product::123::reviews too.
	c.DeleteChildren(ctx, "product", 123)
	_, err = keyedcache.Get[[]string](ctx, c, "product", 123, "reviews")
	var miss *keyedcache.NotCachedError
	fmt.Println(errors.As(err, &miss), miss.Key)

	// Output:
	// Widget <nil>
	// true shop::product::123::reviews
}

// ExampleNew uses a Store directly, as a backend.Backend with its
// optional powers.
func ExampleNew() {
	s, err := memcached.New(memcached.Options{
		Servers:   []string{exampleAddr},
		Namespace: "example:", // what Clear removes
		Timeout:   2 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	s.Set(ctx, "greeting", []byte("hello"), 31*24*time.Hour) // over 30 days: sent as a Unix time
	v, found, _ := s.Get(ctx, "greeting")
	fmt.Printf("%s %v\n", v, found)
	left, _, _ := s.TTL(ctx, "greeting")
	fmt.Println(left > 30*24*time.Hour)

	first, _ := s.Add(ctx, "lease", []byte("worker-1"), time.Minute)
	second, _ := s.Add(ctx, "lease", []byte("worker-2"), time.Minute)
	fmt.Println(first, second)

	s.Set(ctx, "a key with spaces", []byte("kept"), time.Minute) // stored under a legal key
	v, _, _ = s.Get(ctx, "a key with spaces")
	fmt.Printf("%s\n", v)

	fmt.Println(s.Clear(ctx))
	_, found, _ = s.Get(ctx, "greeting")
	fmt.Println(found)

	// Output:
	// hello true
	// true
	// true false
	// kept
	// <nil>
	// false
}

// ExampleStore_ServerOf shows consistent hashing: adding a fourth server
// moves only the keys it takes over — about a quarter on average over
// server addresses, 21% for these four.
func ExampleStore_ServerOf() {
	three, _ := memcached.New(memcached.Options{Servers: []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"}})
	four, _ := memcached.New(memcached.Options{Servers: []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "10.0.0.4:11211"}})
	moved := 0
	for i := range 10000 {
		k := fmt.Sprintf("product::%d", i)
		if three.ServerOf(k) != four.ServerOf(k) {
			if four.ServerOf(k) != "10.0.0.4:11211" {
				fmt.Println("moved between old servers:", k)
			}
			moved++
		}
	}
	fmt.Printf("%.0f%% of the keys moved, all to the new server\n", float64(moved)/100)
	// Output:
	// 21% of the keys moved, all to the new server
}
