package keyedcache_test

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
)

func ExampleCacheGet() {
	ctx := context.Background()
	load := func(id int) string { return fmt.Sprintf("product %d from the database", id) }

	for range 2 {
		name, err := keyedcache.CacheGet[string](ctx, "example", "product", 42)
		var miss *keyedcache.NotCachedError
		if errors.As(err, &miss) {
			fmt.Println("miss:", miss.Key)
			name = load(42)
			keyedcache.CacheSet(ctx, miss.Key, name, keyedcache.TTL(time.Minute))
		}
		fmt.Println(name)
	}
	// Output:
	// miss: example::product::42
	// product 42 from the database
	// product 42 from the database
}

func ExampleCache_DeleteChildren() {
	ctx := context.Background()
	c, _ := keyedcache.Open("memory://?key_prefix=shop")
	defer c.Close()
	c.Set(ctx, c.Key("product", 1), "Tortoise")
	c.Set(ctx, c.Key("product", 1, "summary"), "slow but sure")
	c.Set(ctx, c.Key("product", 12), "Hare")

	c.DeleteChildren(ctx, "product", 1)
	for _, k := range []string{"product::1", "product::1::summary", "product::12"} {
		fmt.Println(k, c.IsCached(ctx, k))
	}
	// Output:
	// product::1 false
	// product::1::summary false
	// product::12 true
}

func ExampleOpen() {
	c, err := keyedcache.Open("memory://?max_entries=10000&timeout=600&key_prefix=site1")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Println(c.Key("test", 2), c.Timeout())

	_, err = keyedcache.Open("memory://?max_entrys=10")
	fmt.Println(err)
	// Output:
	// site1::test::2 10m0s
	// keyedcache: memory://?max_entrys=10: parameter max_entrys: unknown parameter for memory:// (valid: timeout, key_prefix, version, codec, max_entries, max_bytes, cull_frequency, by_reference)
}

func ExampleGet() {
	type Product struct {
		ID   int
		Name string
	}
	ctx := context.Background()
	c, _ := keyedcache.Open("memory://")
	defer c.Close()
	c.Set(ctx, c.Key("product", 7), Product{7, "Tortoise"})

	p, err := keyedcache.Get[Product](ctx, c, "product", 7)
	fmt.Println(p, err)
	_, err = keyedcache.Get[Product](ctx, c, "product", 8)
	fmt.Println(errors.Is(err, keyedcache.ErrNotCached), err)
	// Output:
	// {7 Tortoise} <nil>
	// true keyedcache: not cached: product::8
}

func ExampleCache_Incr() {
	ctx := context.Background()
	c, _ := keyedcache.Open("memory://")
	defer c.Close()
	c.Set(ctx, "hits", 0)
	c.Incr(ctx, "hits", 1)
	n, _ := c.Incr(ctx, "hits", 1)
	fmt.Println(n)
	// Output: 2
}

func TestStatsAndExpvar(t *testing.T) {
	ctx := context.Background()
	r := keyedcache.DefaultRegistry()
	c, err := r.Register("stats_test", "memory://")
	if err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "a", 1)
	keyedcache.Get[int](ctx, c, "a")
	keyedcache.Get[int](ctx, c, "a")
	keyedcache.Get[int](ctx, c, "b")
	c.Delete(ctx, "a")
	st := c.Stats()
	want := keyedcache.Stats{Alias: "stats_test", Backend: "memory://", Enabled: true, Calls: 3, Hits: 2, Misses: 1, Sets: 1, Deletes: 1, HitRate: 2.0 / 3}
	if st != want {
		t.Fatalf("Stats = %+v\nwant    %+v", st, want)
	}
	v := expvar.Get("keyedcache")
	if v == nil || !strings.Contains(v.String(), `"alias":"stats_test","backend":"memory://","enabled":true,"calls":3,"hits":2`) {
		t.Fatalf("expvar keyedcache = %v", v)
	}
}

func ExampleRegistry() {
	r := keyedcache.NewRegistry()
	defer r.Close()
	err := r.Configure(map[string]string{
		"default":  "memory://?max_entries=10000",
		"sessions": "memory://?timeout=3600&key_prefix=s",
	})
	if err != nil {
		panic(err)
	}
	sessions, _ := r.Lookup("sessions")
	fmt.Println(r.Aliases(), sessions.Key("session", "abc"), sessions.Timeout())

	err = r.Configure(map[string]string{"broken": "memory://?timeout=soon"})
	fmt.Println(err)
	// Output:
	// [default sessions] s::session::abc 1h0m0s
	// alias broken: keyedcache: memory://?timeout=soon: parameter timeout="soon": want a positive number of seconds or a duration such as 500ms or 1m30s
}

func ExampleRegisterStatsSource() {
	var jobs atomic.Int64
	keyedcache.RegisterStatsSource("jobs", func() any { return map[string]int64{"done": jobs.Load()} })
	defer keyedcache.RegisterStatsSource("jobs", nil)
	jobs.Add(3)

	reg := keyedcache.NewRegistry()
	defer reg.Close()
	fmt.Println(reg.Snapshot().Sections["jobs"])
	// Output: map[done:3]
}
