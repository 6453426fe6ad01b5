package function_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
)

// Restaurant is what the slow lookup finds.
type Restaurant struct {
	Name   string
	Rating float64
}

var lookups int

// findRestaurant stands for a slow lookup: a database query, a remote
// API. It counts its calls so that the examples can show which calls
// computed.
func findRestaurant(ctx context.Context, name string) (Restaurant, error) {
	lookups++
	time.Sleep(10 * time.Millisecond)
	return Restaurant{Name: name, Rating: 4.5}, nil
}

func ExampleCacheFunction() {
	cache, _ := keyedcache.Open("memory://")
	defer cache.Close()
	lookup := function.CacheFunction(findRestaurant, function.WithCache(cache), function.WithTTL(10*time.Minute))

	ctx := context.Background()
	for _, name := range []string{"Chez Panisse", "Zuni Café", "Chez Panisse"} {
		before := lookups
		r, err := lookup(ctx, name)
		if err != nil {
			fmt.Println(err)
			return
		}
		how := "slow: computed"
		if lookups == before {
			how = "fast: from the cache"
		}
		fmt.Printf("%s %.1f (%s)\n", r.Name, r.Rating, how)
	}
	// Output:
	// Chez Panisse 4.5 (slow: computed)
	// Zuni Café 4.5 (slow: computed)
	// Chez Panisse 4.5 (fast: from the cache)
}

func ExampleNew() {
	cache, _ := keyedcache.Open("memory://")
	defer cache.Close()
	lookup := function.New(findRestaurant, function.WithCache(cache), function.WithName("restaurant"))
	ctx := context.Background()

	fmt.Println(lookup.Key("Chez Panisse"))
	_, err := lookup.Peek(ctx, "Chez Panisse") // read without computing
	fmt.Println(errors.Is(err, keyedcache.ErrNotCached))

	lookup.Set(ctx, "Chez Panisse", Restaurant{Name: "Chez Panisse", Rating: 5})
	r, _ := lookup.Call(ctx, "Chez Panisse")
	fmt.Println(r.Rating)

	lookup.Delete(ctx, "Chez Panisse") // the next call computes afresh
	r, _ = lookup.Call(ctx, "Chez Panisse")
	fmt.Println(r.Rating)
	// Output:
	// func::restaurant::Chez%20Panisse
	// true
	// 5
	// 4.5
}

func ExampleCacheDeleteFunction() {
	cache, _ := keyedcache.Open("memory://")
	defer cache.Close()
	lookup := function.CacheFunction(findRestaurant, function.WithCache(cache))
	ctx := context.Background()
	lookup(ctx, "Chez Panisse")
	lookup(ctx, "Zuni Café")

	// Every cached result of findRestaurant goes, in every process.
	function.CacheDeleteFunction(ctx, findRestaurant, function.WithCache(cache))

	before := lookups
	lookup(ctx, "Chez Panisse")
	fmt.Println("computed again:", lookups > before)
	// Output:
	// computed again: true
}

func ExampleWithStale() {
	cache, _ := keyedcache.Open("memory://")
	defer cache.Close()
	version := 0
	report := function.New0(func(ctx context.Context) (int, error) {
		version++
		return version, nil
	}, function.WithCache(cache), function.WithName("report"),
		function.WithTTL(20*time.Millisecond), function.WithStale(time.Minute))
	ctx := context.Background()

	v, _ := report.Call(ctx)
	fmt.Println("first:", v)
	time.Sleep(30 * time.Millisecond)
	v, _ = report.Call(ctx) // expired: the old result at once, a refresh behind it
	fmt.Println("stale:", v)
	for v == 1 {
		time.Sleep(time.Millisecond)
		v, _ = report.Peek(ctx)
	}
	fmt.Println("refreshed:", v)
	// Output:
	// first: 1
	// stale: 1
	// refreshed: 2
}
