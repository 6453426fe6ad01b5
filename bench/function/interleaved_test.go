package function

import (
	"context"
	"fmt"
	"runtime"
	"slices"
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
// seconds, so rather than time each in a benchmark of its own it runs
// short rounds of both on every goroutine of -cpu at once, takes their
// ratio in each round and reports the median ratio, func/get, with each
// one's fastest batch of rounds in ns per call; ns/op itself is the time
// of one batch. mode=byref is memory:// with
// by_reference=true, mode=copy the default memory://, mode=redis a Redis
// server on loopback (started by internal/testserver).
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
	best time.Duration // fastest round, summed over the goroutines
	bad  int
}

// chunk is how many calls of one contender a goroutine makes before it
// turns to the other: a round is one chunk of each, short enough (tens
// of microseconds) that a burst of load from other users of the machine
// seldom falls inside it, long enough that reading the clock costs
// little next to it.
const chunk = 256

// interleave runs batches in which GOMAXPROCS goroutines each make
// perRound calls of each contender in rounds of one chunk of each (the
// first in alternate order from round to round), timing every chunk. A
// round's ratio is the second contender's time over the first's; the
// benchmark reports the median of every round's ratio, which the
// machine's load moves little (a round that a burst of load disturbs is
// an outlier the median ignores), and each contender's fastest batch per
// call (its time over all goroutines divided by their number, as
// RunParallel reports a time per call).
func interleave(b *testing.B, perRound int, cs []contender) {
	if len(cs) != 2 {
		b.Fatal("interleave compares two contenders")
	}
	procs := runtime.GOMAXPROCS(0)
	for i := range cs {
		cs[i].best = time.Duration(1<<63 - 1)
	}
	var (
		mu     sync.Mutex
		ratios []float64
	)
	for b.Loop() {
		var took [2]time.Duration
		var wg sync.WaitGroup
		for range procs {
			wg.Go(func() {
				var (
					total [2]time.Duration
					bad   [2]int
					mine  = make([]float64, 0, perRound/chunk+1)
				)
				for round := 0; round*chunk < perRound; round++ {
					var t [2]time.Duration
					for j := range 2 {
						i := j ^ round&1
						c := &cs[i]
						start := time.Now()
						for range chunk {
							if !c.call() {
								bad[i]++
							}
						}
						t[i] = time.Since(start)
					}
					total[0] += t[0]
					total[1] += t[1]
					mine = append(mine, float64(t[1])/float64(t[0]))
				}
				mu.Lock()
				for i := range 2 {
					took[i] += total[i]
					cs[i].bad += bad[i]
				}
				ratios = append(ratios, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		for i := range cs {
			cs[i].best = min(cs[i].best, took[i])
		}
	}
	b.StopTimer()
	calls := float64(perRound / chunk * chunk * procs)
	per := func(c *contender) float64 { return float64(c.best.Nanoseconds()) / float64(procs) / calls }
	for i := range cs {
		if cs[i].bad > 0 {
			b.Fatalf("%s: %d calls failed or returned the wrong value", cs[i].name, cs[i].bad)
		}
		b.ReportMetric(per(&cs[i]), cs[i].name+"-ns/call")
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], cs[1].name+"/"+cs[0].name)
}
