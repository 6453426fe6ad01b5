package function

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	_ "keyedcache.dev/keyedcache/backend/redis"
)

// BenchmarkHitInterleaved answers, robustly on a shared machine, what a
// cached function's hit costs next to a plain keyedcache.Get hit of the
// same value on the same cache. Load from other users drifts over
// seconds, so rather than time each in a benchmark of its own it
// alternates short rounds of each (every goroutine of -cpu calling at
// once) and keeps each one's fastest round. It reports ns per call of
// each and their ratio, func/get; ns/op itself is the time of one round
// of both. mode=byref is memory:// with by_reference=true, mode=copy the
// default memory://, mode=redis a Redis server on loopback (started by
// internal/testserver).
func BenchmarkHitInterleaved(b *testing.B) {
	ctx := context.Background()
	for _, mode := range []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"byref", func(*testing.B) string { return "memory://?by_reference=true" }},
		{"copy", func(*testing.B) string { return "memory://" }},
		{"redis", func(b *testing.B) string { return "redis://" + testserver.Redis(b).Addr }},
	} {
		b.Run("mode="+mode.name, func(b *testing.B) {
			c := open(b, mode.url(b))
			r, _ := find(ctx, 7)
			c.Set(ctx, c.Key("restaurant", 7), r)
			f := function.New(find, function.WithCache(c), function.WithName(fmt.Sprintf("bench-interleaved-%d", runs.Add(1))))
			f.Call(ctx, 7)
			perRound := 1 << 12 // calls per goroutine per round
			if mode.name == "redis" {
				perRound = 1 << 8
			}
			interleave(b, perRound, []contender{
				{name: "get", call: func() bool {
					r, err := keyedcache.Get[restaurant](ctx, c, "restaurant", 7)
					return err == nil && r.ID == 7
				}},
				{name: "func", call: func() bool {
					r, err := f.Call(ctx, 7)
					return err == nil && r.ID == 7
				}},
			})
			if st := f.Stats(); st.Computations != 1 {
				b.Fatalf("the function ran %d times, want once: %+v", st.Computations, st)
			}
		})
	}
}

// runs numbers the benchmark's runs, so that each wraps its function
// under a name (and so with figures) of its own.
var runs atomic.Int64

// A contender is one way to make a call; call reports whether it got the
// right answer.
type contender struct {
	name string
	call func() bool
	best time.Duration
	bad  int
}

// interleave runs rounds of perRound calls of each contender on
// GOMAXPROCS goroutines at once, in turn, and reports each one's
// fastest round per call (over all goroutines, as RunParallel reports
// it) and the ratio of the second to the first.
func interleave(b *testing.B, perRound int, cs []contender) {
	procs := runtime.GOMAXPROCS(0)
	for i := range cs {
		cs[i].best = time.Duration(1<<63 - 1)
	}
	var mu sync.Mutex
	for b.Loop() {
		for i := range cs {
			c := &cs[i]
			start := time.Now()
			var wg sync.WaitGroup
			for range procs {
				wg.Go(func() {
					bad := 0
					for range perRound {
						if !c.call() {
							bad++
						}
					}
					mu.Lock()
					c.bad += bad
					mu.Unlock()
				})
			}
			wg.Wait()
			c.best = min(c.best, time.Since(start))
		}
	}
	b.StopTimer()
	per := func(c *contender) float64 { return float64(c.best.Nanoseconds()) / float64(perRound*procs) }
	for i := range cs {
		if cs[i].bad > 0 {
			b.Fatalf("%s: %d calls failed or returned the wrong value", cs[i].name, cs[i].bad)
		}
		b.ReportMetric(per(&cs[i]), cs[i].name+"-ns/call")
	}
	b.ReportMetric(per(&cs[1])/per(&cs[0]), cs[1].name+"/"+cs[0].name)
}
