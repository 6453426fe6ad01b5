package memory_test

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

func Example() {
	ctx := context.Background()
	s, err := memory.New(memory.Options{MaxEntries: 1000, MaxBytes: 1 << 20})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	s.Set(ctx, "site1::product::123", []byte("shoe"), time.Minute)
	s.Set(ctx, "site1::product::123::size::xl", []byte("in stock"), time.Minute)
	s.Set(ctx, "site1::product::124", []byte("boot"), backend.NoExpiry)

	v, found, _ := s.Get(ctx, "site1::product::123")
	fmt.Printf("%s %v\n", v, found)

	// Delete product 123's children, at the cost of the keys deleted.
	n, _ := s.DeletePrefix(ctx, "site1::product::123::")
	fmt.Println("deleted", n)

	s.ScanKeys(ctx, "site1::", func(key string) bool {
		fmt.Println(key)
		return true
	})
	// Unordered output:
	// shoe true
	// deleted 1
	// site1::product::123
	// site1::product::124
}

// Open is what the core calls for a memory:// URL.
func ExampleOpen() {
	u, _ := url.Parse("memory://?max_entries=500&max_bytes=64MiB")
	b, err := memory.Open(backend.Config{URL: u, Params: u.Query()})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	stats, _ := b.(backend.Statser).BackendStats(context.Background())
	fmt.Println(stats["max_entries"], stats["max_bytes"])

	_, err = memory.Open(backend.Config{Params: url.Values{"max_entries": {"none"}}})
	fmt.Println(err)
	// Output:
	// 500 67108864
	// keyedcache: parameter max_entries="none": want a whole number ≥ 1
}

// In by-reference mode the core keeps Go values as they are.
func ExampleStore_SetObject() {
	s, _ := memory.New(memory.Options{ByReference: true})
	defer s.Close()

	type cart struct{ Items []string }
	c := &cart{Items: []string{"shoe"}}
	s.SetObject("cart::42", c, time.Hour)

	c.Items = append(c.Items, "sock") // the cached value is c itself
	obj, _, _ := s.GetObject("cart::42")
	fmt.Println(obj.(*cart).Items)
	// Output: [shoe sock]
}

// Pages of keys in byte order, each starting after the last key of the
// one before, as the staff page reads them: a page costs the page,
// however many keys the store holds.
func ExampleStore_ScanKeysAfter() {
	ctx := context.Background()
	s, err := memory.New(memory.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	for _, k := range []string{"p::4", "p::1", "p::5", "p::2", "p::3", "q::1"} {
		s.Set(ctx, k, []byte("v"), time.Minute)
	}
	after := ""
	for {
		var page []string
		s.ScanKeysAfter(ctx, "p::", after, func(key string) bool {
			page = append(page, key)
			return len(page) < 2
		})
		if len(page) == 0 {
			break
		}
		fmt.Println(page)
		after = page[len(page)-1]
	}
	// Output:
	// [p::1 p::2]
	// [p::3 p::4]
	// [p::5]
}
