package mixin_test

import (
	"context"
	"fmt"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/mixin"
)

// noBooks is a loader for examples that never reach the database.
func noBooks(context.Context, int64) (*Book, error) { return nil, nil }

func ExampleCached_CacheKey() {
	c, _ := keyedcache.Open("memory://?key_prefix=site1")
	defer c.Close()
	books := mixin.NewModel(noBooks, mixin.WithCache(c))

	b := books.Bind(&Book{ID: 7, Title: "Dune"}) // built by hand, so bound by hand
	fmt.Println(b.CacheKey())
	fmt.Println(b.CacheKey("summary"))
	fmt.Println(b.CacheKey("price", keyedcache.KV{"currency": "EUR"}))

	items := mixin.NewModel(noBooks, mixin.WithCache(c), mixin.WithName("Item"))
	fmt.Println(items.Key(7, "summary"))
	// Output:
	// site1::Book::7
	// site1::Book::7::summary
	// site1::Book::7::price::currency::EUR
	// site1::Item::7::summary
}

func ExampleCached_CacheDelete() {
	ctx := context.Background()
	c, _ := keyedcache.Open("memory://")
	defer c.Close()
	books := mixin.NewModel(noBooks, mixin.WithCache(c))
	b := books.Bind(&Book{ID: 7, Title: "Dune"})
	b70 := books.Bind(&Book{ID: 70, Title: "Emma"})

	b.CacheSet(ctx)
	b70.CacheSet(ctx)
	c.Set(ctx, b.CacheKey("summary"), "Sand, spice and politics.")

	b.CacheDelete(ctx) // the book and every key under it
	fmt.Println(b.IsCached(ctx), b.IsCached(ctx, "summary"), b70.IsCached(ctx))
	// Output:
	// false false true
}

func ExampleCached_CacheGet() {
	ctx := context.Background()
	c, _ := keyedcache.Open("memory://")
	defer c.Close()
	books := mixin.NewModel(noBooks, mixin.WithCache(c))
	b := books.Bind(&Book{ID: 7, Title: "Dune", Copies: 3})
	b.CacheSet(ctx)

	b.Copies = 2 // changed here, not stored
	cached, err := b.CacheGet(ctx)
	fmt.Println(cached.Copies, err)
	b.CacheReset(ctx) // store the changed book in place of the old one
	cached, _ = b.CacheGet(ctx)
	fmt.Println(cached.Copies)
	// Output:
	// 3 <nil>
	// 2
}
