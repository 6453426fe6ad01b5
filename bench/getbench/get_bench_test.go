package getbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/maypok86/otter/v2"
	gocache "github.com/patrickmn/go-cache"

	"keyedcache.dev/keyedcache"
)

// Product is the cached value: small, with a string and a slice, so that
// a copy (decode) costs what it costs for a typical row.
type Product struct {
	ID    int64
	Name  string
	Price float64
	Tags  []string
}

const (
	numKeys  = 100_000 // the keyspace
	capacity = 200_000 // every cache holds all the keys: hits, no eviction
	seqLen   = 1 << 16 // the precomputed key sequence (a power of two)
	zipfS    = 1.1
	// stride separates the starting points of the goroutines of one
	// RunParallel in the sequence, so that they do not read the same key
	// at the same moment.
	stride = 9973
)

// The workload, built once: keys[i] holds products[i]; seq is the Zipf
// sequence of key indices every contender reads, rank 0 the hottest.
var (
	workOnce sync.Once
	keys     []string
	products []Product
	seq      []int32
)

func workload() {
	workOnce.Do(func() {
		keys = make([]string, numKeys)
		products = make([]Product, numKeys)
		for i := range numKeys {
			keys[i] = "product::" + strconv.Itoa(i)
			products[i] = Product{
				ID:    int64(i),
				Name:  "Product " + strconv.Itoa(i),
				Price: float64(i%10000) + 0.99,
				Tags:  []string{"tag-a", "tag-b", "tag-" + strconv.Itoa(i%100)},
			}
		}
		z := rand.NewZipf(rand.New(rand.NewPCG(20240601, 1)), zipfS, 1, numKeys-1)
		seq = make([]int32, seqLen)
		for i := range seq {
			seq[i] = int32(z.Uint64())
		}
	})
}

// worker walks the sequence for one goroutine of RunParallel. In the
// reads=75 mix every fourth position of the sequence is a write of a
// fresh value under the key at that position.
type worker struct {
	pos    int
	writes bool
	bad    int // reads that missed or returned the wrong product
}

// next returns the key index and key at the worker's position, and
// whether this operation is a write; it advances the position.
func (w *worker) next() (int32, string, bool) {
	k := seq[w.pos&(seqLen-1)]
	write := w.writes && w.pos&3 == 0
	w.pos++
	return k, keys[k], write
}

// fresh is a new value for product k: the same identity, a new price.
func (w *worker) fresh(k int32) Product {
	p := products[k]
	p.Price = float64(w.pos)
	return p
}

// check counts a read that did not return product k. It is a compare
// and a branch, the same for every contender.
func (w *worker) check(k int32, p Product, ok bool) {
	if !ok || p.ID != int64(k) {
		w.bad++
	}
}

// subject is one filled cache under test.
type subject struct {
	// get reads key outside the timed loop (the sanity check).
	get func(key string) (Product, bool)
	// loop is the timed loop of one goroutine. Each contender writes it
	// out with direct calls, so that no indirection is measured.
	loop  func(pb *testing.PB, w *worker)
	close func()
}

// contender opens a cache holding products[i] under keys[i] for every i.
type contender struct {
	name string
	open func(b *testing.B) *subject
}

// contenders, in column order: the first is benchstat's base, so every
// other column reads as a ratio to raw otter.
var contenders = []contender{
	{"otter", openOtter},
	{"otter-ttl", openOtterTTL},
	{"keyedcache-byref", func(b *testing.B) *subject {
		return openKeyedcache(b, "memory://?max_entries=200000&by_reference=true")
	}},
	{"keyedcache-byref-default-alias", openDefaultAlias},
	{"keyedcache-copy", func(b *testing.B) *subject {
		return openKeyedcache(b, "memory://?max_entries=200000")
	}},
	{"ristretto", openRistretto},
	{"go-cache", openGoCache},
	{"golang-lru", openLRU},
}

// BenchmarkGet reads keys on the Zipf sequence from b.RunParallel; every
// read is a hit. reads=100 only reads; reads=75 makes every fourth
// operation a Set of the same key with a fresh value.
func BenchmarkGet(b *testing.B) {
	workload()
	for _, mix := range []struct {
		name   string
		writes bool
	}{{"reads=100", false}, {"reads=75", true}} {
		for _, c := range contenders {
			var s *subject
			b.Run(mix.name+"/impl="+c.name, func(b *testing.B) {
				b.ReportAllocs()
				// Filled and checked at the first round; the later rounds
				// (each b.N, -count and -cpu value) reuse it. In the
				// reads=75 mix they find new prices, the same keys.
				if s == nil {
					s = c.open(b)
					checkAll(b, s)
				}
				runtime.GC() // the fill's garbage is not the loop's
				var goroutines, bad atomic.Int64
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					w := &worker{pos: int(goroutines.Add(1)) * stride, writes: mix.writes}
					s.loop(pb, w)
					bad.Add(int64(w.bad))
				})
				b.StopTimer()
				if n := bad.Load(); n > 0 {
					b.Errorf("%d reads missed or returned the wrong product", n)
				}
			})
			if s != nil {
				s.close()
			}
		}
	}
}

// checkAll fails unless every key hits with its own product.
func checkAll(b *testing.B, s *subject) {
	b.Helper()
	for i, key := range keys {
		p, ok := s.get(key)
		if !ok {
			b.Fatalf("%s: miss after filling; the benchmark would not measure hits", key)
		}
		if p.ID != int64(i) || p.Name != products[i].Name || len(p.Tags) != 3 {
			b.Fatalf("%s: read %+v, want %+v", key, p, products[i])
		}
	}
}

func openOtter(b *testing.B) *subject {
	return otterSubject(b, &otter.Options[string, Product]{MaximumSize: capacity})
}

// openOtterTTL is otter with a time to live on every entry, as every
// keyedcache entry has (the alias's 300 s default): each read then also
// checks the clock, which is the fair baseline for a TTL cache.
func openOtterTTL(b *testing.B) *subject {
	return otterSubject(b, &otter.Options[string, Product]{
		MaximumSize:      capacity,
		ExpiryCalculator: otter.ExpiryWriting[string, Product](300 * time.Second),
	})
}

func otterSubject(b *testing.B, opts *otter.Options[string, Product]) *subject {
	c, err := otter.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	for i, key := range keys {
		c.Set(key, products[i])
	}
	return &subject{
		get: c.GetIfPresent,
		loop: func(pb *testing.PB, w *worker) {
			for pb.Next() {
				k, key, write := w.next()
				if write {
					c.Set(key, w.fresh(k))
					continue
				}
				p, ok := c.GetIfPresent(key)
				w.check(k, p, ok)
			}
		},
		close: func() { c.StopAllGoroutines() },
	}
}

// openKeyedcache opens a Cache of its own on url and reads it with
// keyedcache.Get, writes it with (*Cache).Set.
func openKeyedcache(b *testing.B, url string) *subject {
	ctx := context.Background()
	c, err := keyedcache.Open(url)
	if err != nil {
		b.Fatal(err)
	}
	for i, key := range keys {
		if err := c.Set(ctx, key, products[i]); err != nil {
			b.Fatal(err)
		}
	}
	return &subject{
		get: func(key string) (Product, bool) {
			p, err := keyedcache.Get[Product](ctx, c, key)
			return p, err == nil
		},
		loop: func(pb *testing.PB, w *worker) {
			for pb.Next() {
				k, key, write := w.next()
				if write {
					c.Set(ctx, key, w.fresh(k))
					continue
				}
				p, err := keyedcache.Get[Product](ctx, c, key)
				w.check(k, p, err == nil)
			}
		},
		close: func() { c.Close() },
	}
}

// openDefaultAlias configures the default alias and uses the
// package-level functions, as most programs will.
func openDefaultAlias(b *testing.B) *subject {
	ctx := context.Background()
	err := keyedcache.Configure(map[string]string{
		"default": "memory://?max_entries=200000&by_reference=true",
	})
	if err != nil {
		b.Fatal(err)
	}
	for i, key := range keys {
		if err := keyedcache.CacheSet(ctx, key, products[i]); err != nil {
			b.Fatal(err)
		}
	}
	return &subject{
		get: func(key string) (Product, bool) {
			p, err := keyedcache.CacheGet[Product](ctx, key)
			return p, err == nil
		},
		loop: func(pb *testing.PB, w *worker) {
			for pb.Next() {
				k, key, write := w.next()
				if write {
					keyedcache.CacheSet(ctx, key, w.fresh(k))
					continue
				}
				p, err := keyedcache.CacheGet[Product](ctx, key)
				w.check(k, p, err == nil)
			}
		},
		close: func() { keyedcache.DefaultRegistry().Close() },
	}
}

func openRistretto(b *testing.B) *subject {
	c, err := ristretto.NewCache(&ristretto.Config[string, Product]{
		NumCounters: 2_000_000,
		MaxCost:     capacity,
		BufferItems: 64,
		// Cost 1 per entry, as for the others: without this ristretto
		// adds its own per-item overhead to every cost and would hold
		// only a few thousand entries.
		IgnoreInternalCost: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	// Admission may drop a Set; set what is missing again until every
	// key is present.
	missing := make([]int, numKeys)
	for i := range missing {
		missing[i] = i
	}
	for attempt := 0; len(missing) > 0; attempt++ {
		if attempt == 100 {
			b.Fatalf("ristretto: %d keys still not admitted after %d attempts", len(missing), attempt)
		}
		for _, i := range missing {
			c.Set(keys[i], products[i], 1)
		}
		c.Wait()
		var still []int
		for _, i := range missing {
			if _, ok := c.Get(keys[i]); !ok {
				still = append(still, i)
			}
		}
		missing = still
	}
	return &subject{
		get: c.Get,
		loop: func(pb *testing.PB, w *worker) {
			for pb.Next() {
				k, key, write := w.next()
				if write {
					c.Set(key, w.fresh(k), 1)
					continue
				}
				p, ok := c.Get(key)
				w.check(k, p, ok)
			}
		},
		close: c.Close,
	}
}

func openGoCache(b *testing.B) *subject {
	c := gocache.New(gocache.NoExpiration, 0) // no janitor
	for i, key := range keys {
		c.Set(key, products[i], gocache.NoExpiration)
	}
	get := func(key string) (Product, bool) {
		v, ok := c.Get(key)
		if !ok {
			return Product{}, false
		}
		p, ok := v.(Product)
		return p, ok
	}
	return &subject{
		get: get,
		loop: func(pb *testing.PB, w *worker) {
			for pb.Next() {
				k, key, write := w.next()
				if write {
					c.Set(key, w.fresh(k), gocache.NoExpiration)
					continue
				}
				v, ok := c.Get(key)
				p, isProduct := v.(Product)
				w.check(k, p, ok && isProduct)
			}
		},
		close: func() {},
	}
}

func openLRU(b *testing.B) *subject {
	c, err := lru.New[string, Product](capacity)
	if err != nil {
		b.Fatal(err)
	}
	for i, key := range keys {
		c.Add(key, products[i])
	}
	return &subject{
		get: c.Get,
		loop: func(pb *testing.PB, w *worker) {
			for pb.Next() {
				k, key, write := w.next()
				if write {
					c.Add(key, w.fresh(k))
					continue
				}
				p, ok := c.Get(key)
				w.check(k, p, ok)
			}
		},
		close: func() {},
	}
}

// sink keeps the key benchmarks' results alive.
var sink string

// BenchmarkKey builds one key from scalar parts with keyedcache.CacheKey
// (the default alias, no prefix) and with fmt.Sprintf: from constant
// parts (123 is boxed without allocating: Go keeps static boxes for
// integers below 256), from a variable id ≥ 256 (boxing it into an any
// allocates, for both), and with a KV part. Each sub-benchmark checks
// the last key it built.
func BenchmarkKey(b *testing.B) {
	b.Run("parts=const/impl=keyedcache", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			sink = keyedcache.CacheKey("product", 123)
		}
		checkKey(b, "product::123")
	})
	b.Run("parts=const/impl=sprintf", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			sink = fmt.Sprintf("product::%d", 123)
		}
		checkKey(b, "product::123")
	})
	b.Run("parts=var/impl=keyedcache", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			id := 1000 + i%7
			sink = keyedcache.CacheKey("product", id)
		}
		checkKey(b, "product::"+strconv.Itoa(1000+(b.N-1)%7))
	})
	b.Run("parts=var/impl=sprintf", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			id := 1000 + i%7
			sink = fmt.Sprintf("product::%d", id)
		}
		checkKey(b, "product::"+strconv.Itoa(1000+(b.N-1)%7))
	})
	b.Run("parts=kv/impl=keyedcache", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			sink = keyedcache.CacheKey("product", 123, keyedcache.KV{"size": "xl"})
		}
		checkKey(b, "product::123::size::xl")
	})
	b.Run("parts=kv/impl=sprintf", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			sink = fmt.Sprintf("product::%d::size::%s", 123, "xl")
		}
		checkKey(b, "product::123::size::xl")
	})
}

func checkKey(b *testing.B, want string) {
	b.Helper()
	if sink != want {
		b.Fatalf("built %q, want %q", sink, want)
	}
}
