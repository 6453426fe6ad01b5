package function

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/sync/singleflight"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
)

// restaurant is the cached result: a small struct with a slice, as in
// the core's Get benchmarks.
type restaurant struct {
	ID     int
	Name   string
	Rating float64
	Tags   []string
}

func find(ctx context.Context, id int) (restaurant, error) {
	return restaurant{ID: id, Name: "Chez Panisse", Rating: 4.5, Tags: []string{"french", "berkeley"}}, nil
}

// memo is the hand-written alternative: a map behind a mutex, in one
// process, with no TTL, no copy and no stampede protection.
type memo struct {
	mu sync.Mutex
	m  map[int]restaurant
}

func (m *memo) call(ctx context.Context, id int) (restaurant, error) {
	m.mu.Lock()
	r, ok := m.m[id]
	m.mu.Unlock()
	if ok {
		return r, nil
	}
	r, err := find(ctx, id)
	if err != nil {
		return r, err
	}
	m.mu.Lock()
	m.m[id] = r
	m.mu.Unlock()
	return r, nil
}

func open(b *testing.B, url string) *keyedcache.Cache {
	c, err := keyedcache.Open(url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// loop runs body b.N times and reports, besides wall time, the process's
// CPU time per operation ("cpu-ns/op"), which waiting for a core does not
// inflate. The benchmarks run one goroutine, so on an idle machine the
// two agree (cpu-ns/op a little higher: it counts the garbage
// collector's threads too).
func loop(b *testing.B, body func()) {
	start, ok := processCPU()
	n := 0
	for b.Loop() {
		body()
		n++
	}
	if end, ok2 := processCPU(); ok && ok2 && n > 0 {
		b.ReportMetric(float64(end-start)/float64(n), "cpu-ns/op")
	}
}

func BenchmarkHit(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=memo", func(b *testing.B) {
		m := &memo{m: map[int]restaurant{}}
		m.call(ctx, 7)
		loop(b, func() {
			if r, _ := m.call(ctx, 7); r.ID != 7 {
				b.Fatal(r)
			}
		})
	})
	for _, mode := range []struct{ name, url string }{
		{"copy", "memory://"},
		{"byref", "memory://?by_reference=true"},
	} {
		c := open(b, mode.url)
		r, _ := find(ctx, 7)
		c.Set(ctx, c.Key("restaurant", 7), r)
		b.Run("impl=CacheGet/mode="+mode.name, func(b *testing.B) {
			loop(b, func() {
				if r, err := keyedcache.Get[restaurant](ctx, c, "restaurant", 7); err != nil || r.ID != 7 {
					b.Fatal(r, err)
				}
			})
		})
		f := function.New(find, function.WithCache(c))
		f.Call(ctx, 7)
		b.Run("impl=Func/mode="+mode.name, func(b *testing.B) {
			loop(b, func() {
				if r, err := f.Call(ctx, 7); err != nil || r.ID != 7 {
					b.Fatal(r, err)
				}
			})
		})
	}
}

func BenchmarkMiss(b *testing.B) {
	ctx := context.Background()
	b.Run("path=direct", func(b *testing.B) {
		loop(b, func() { find(ctx, 7) })
	})
	b.Run("path=singleflight", func(b *testing.B) {
		var g singleflight.Group
		loop(b, func() { g.Do("7", func() (any, error) { return find(ctx, 7) }) })
	})
	c := open(b, "memory://")
	b.Run("path=Func-nothing-stored", func(b *testing.B) {
		f := function.New(find, function.WithCache(c), function.WithName("bench-ttl0"), function.WithTTL(0))
		loop(b, func() { f.Call(ctx, 7) })
	})
	b.Run("path=Func-compute-and-store", func(b *testing.B) {
		f := function.New(find, function.WithCache(c), function.WithName("bench-cold"))
		loop(b, func() {
			f.Delete(ctx, 7)
			f.Call(ctx, 7)
		})
	})
}
