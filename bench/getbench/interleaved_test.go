package getbench

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/maypok86/otter/v2"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/memory"
)

// BenchmarkGetInterleaved answers one question robustly on a shared
// machine: how does a keyedcache hit compare with raw otter's
// GetIfPresent? Load from other users drifts over seconds, so instead of
// timing each contender in its own benchmark it runs rounds, and each
// round runs every contender in turn (the same Zipf reads, by every
// goroutine of -cpu at once): otter, otter with a TTL, keyedcache by
// reference, keyedcache in copy mode (the default). It reports the
// median over the rounds of each contender's time per read and of the
// ratios within a round; ns/op itself is the time of one round of all
// four. Run it with -count 6 and compare with benchstat.
func BenchmarkGetInterleaved(b *testing.B) {
	workload()
	ctx := context.Background()
	const perRound = 1 << 14 // reads per goroutine per round

	raw := otter.Must(&otter.Options[string, Product]{MaximumSize: capacity})
	ttl := otter.Must(&otter.Options[string, Product]{
		MaximumSize:      capacity,
		ExpiryCalculator: otter.ExpiryWriting[string, Product](300 * time.Second),
	})
	byref, err := keyedcache.Open("memory://?max_entries=200000&by_reference=true")
	if err != nil {
		b.Fatal(err)
	}
	defer byref.Close()
	cp, err := keyedcache.Open("memory://?max_entries=200000")
	if err != nil {
		b.Fatal(err)
	}
	defer cp.Close()
	for i, key := range keys {
		raw.Set(key, products[i])
		ttl.Set(key, products[i])
		byref.Set(ctx, key, products[i])
		cp.Set(ctx, key, products[i])
	}

	type contender struct {
		name  string
		read  func(w *worker)
		round []float64 // ns per read, per round
	}
	cs := []*contender{
		{name: "otter", read: func(w *worker) {
			for range perRound {
				k, key, _ := w.next()
				p, ok := raw.GetIfPresent(key)
				w.check(k, p, ok)
			}
		}},
		{name: "otter-ttl", read: func(w *worker) {
			for range perRound {
				k, key, _ := w.next()
				p, ok := ttl.GetIfPresent(key)
				w.check(k, p, ok)
			}
		}},
		{name: "byref", read: func(w *worker) {
			for range perRound {
				k, key, _ := w.next()
				p, err := keyedcache.Get[Product](ctx, byref, key)
				w.check(k, p, err == nil)
			}
		}},
		{name: "copy", read: func(w *worker) {
			for range perRound {
				k, key, _ := w.next()
				p, err := keyedcache.Get[Product](ctx, cp, key)
				w.check(k, p, err == nil && len(p.Tags) == 3)
			}
		}},
	}
	procs := max(1, runtime.GOMAXPROCS(0))
	workers := make([]*worker, procs)
	for i := range workers {
		workers[i] = &worker{pos: (i + 1) * stride}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, c := range cs {
			start := time.Now()
			var wg sync.WaitGroup
			for _, w := range workers {
				wg.Go(func() { c.read(w) })
			}
			wg.Wait()
			// Each round reads perRound keys on every goroutine at once,
			// so the time per read is the round's time over perRound (one
			// goroutine's share), as RunParallel's ns/op would report it.
			c.round = append(c.round, float64(time.Since(start).Nanoseconds())/float64(perRound))
		}
	}
	b.StopTimer()
	for _, w := range workers {
		if w.bad > 0 {
			b.Fatalf("%d reads missed or returned the wrong product", w.bad)
		}
	}
	for _, c := range cs {
		b.ReportMetric(median(c.round), c.name+"-ns/read")
	}
	ratio := func(num, den *contender) float64 {
		rs := make([]float64, len(num.round))
		for i := range rs {
			rs[i] = num.round[i] / den.round[i]
		}
		return median(rs)
	}
	b.ReportMetric(ratio(cs[2], cs[0]), "byref/otter")
	b.ReportMetric(ratio(cs[3], cs[0]), "copy/otter")
	b.ReportMetric(ratio(cs[2], cs[1]), "byref/otter-ttl")
	b.ReportMetric(ratio(cs[3], cs[1]), "copy/otter-ttl")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// BenchmarkHeapPerEntry fills a store with a million entries of a
// 30-byte key and a 1-byte value and reports the Go heap it holds per
// entry (heap-B/entry), for otter with a TTL on every entry and for the
// memory backend, both bounded at two million entries. The keys are
// built beforehand and shared, so they are not counted.
func BenchmarkHeapPerEntry(b *testing.B) {
	const n = 1_000_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "site::product::" + strconv.Itoa(1e14+i)
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	b.Run("impl=otter-ttl", func(b *testing.B) {
		var per float64
		for b.Loop() {
			before := heap()
			c := otter.Must(&otter.Options[string, []byte]{
				MaximumSize:      2 * n,
				ExpiryCalculator: otter.ExpiryWriting[string, []byte](time.Hour),
			})
			for _, k := range keys {
				c.Set(k, []byte("1"))
			}
			c.CleanUp()
			per = float64(heap()-before) / n
			runtime.KeepAlive(c)
			c.StopAllGoroutines()
		}
		b.ReportMetric(per, "heap-B/entry")
	})
	b.Run("impl=memory", func(b *testing.B) {
		ctx := context.Background()
		var per float64
		for b.Loop() {
			before := heap()
			s, err := memory.New(memory.Options{MaxEntries: 2 * n})
			if err != nil {
				b.Fatal(err)
			}
			for _, k := range keys {
				s.Set(ctx, k, []byte("1"), time.Hour)
			}
			per = float64(heap()-before) / n
			runtime.KeepAlive(s)
			s.Close()
		}
		b.ReportMetric(per, "heap-B/entry")
	})
}
