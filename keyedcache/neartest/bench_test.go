package neartest_test

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
)

// BenchmarkNearSetCost measures what telling other processes' process
// tiers costs a CacheSet, on real servers, in interleaved rounds (each
// round runs every contender in turn, so that a busy machine slows them
// alike). The contenders, on one server and each with its own key prefix:
//
//   - backend: the backend's own Set of the same bytes (the floor);
//   - none: a Cache without a tier, where no process has one;
//   - tier-elsewhere: a Cache without a tier, while another Cache (another
//     process) has one — on memcached it reads the invalidation log, so
//     the writer writes it; on Redis the server tracks the reader's keys,
//     so the writer does nothing more.
//
// Before each round the reader reads the keys tier-elsewhere writes
// (untimed), as a reader of hot keys would. It reports each contender's
// median ns per Set over the rounds and the median per-round ratios
// none/backend, tier-elsewhere/backend and tier-elsewhere/none (what a
// tier elsewhere costs a writer). Compare runs with benchstat:
//
//	go test -run='^$' -bench=NearSetCost -count=10 ./keyedcache/neartest/ > /tmp/nearset.txt 2>/dev/null
//	benchstat /tmp/nearset.txt
func BenchmarkNearSetCost(b *testing.B) {
	servers := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"redis", func(b *testing.B) string { return "redis://" + testserver.Redis(b).Addr + "?read_timeout=10s" }},
		{"memcached", func(b *testing.B) string { return "memcached://" + testserver.Memcached(b).Addr + "?net_timeout=10s" }},
	}
	for _, srv := range servers {
		b.Run("backend="+srv.name, func(b *testing.B) {
			base := srv.url(b)
			openAt := func(prefix, extra string) *keyedcache.Cache {
				quiet := keyedcache.WithLogger(slog.New(slog.DiscardHandler)) // errors are reported below
				c, err := keyedcache.Open(base+"&key_prefix="+prefix+extra, quiet)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { c.Close() })
				return c
			}
			ctx := context.Background()
			none := openAt("none", "")
			elsewhere := openAt("elsewhere", "")
			reader := openAt("elsewhere", "&near_entries=1000")
			keyedcache.Get[int](ctx, reader, "k") // puts the reader's marker, where it uses one
			floor := openAt("floor", "")
			data := []byte{0x01, 0x18, 0x2a} // the stored form of 42
			for _, g := range []int{1, 8} {
				b.Run("goroutines="+strconv.Itoa(g), func(b *testing.B) {
					const perRound = 512
					type contender struct {
						name  string
						set   func(i int)
						times []float64
					}
					cs := []*contender{
						{name: "backend", set: func(i int) { floor.Backend().Set(ctx, floor.Key("k", i%64), data, time.Minute) }},
						{name: "none", set: func(i int) { none.Set(ctx, none.Key("k", i%64), 42) }},
						{name: "tier-elsewhere", set: func(i int) { elsewhere.Set(ctx, elsewhere.Key("k", i%64), 42) }},
					}
					for _, ct := range cs { // warm connections and looks
						ct.set(0)
					}
					var ratios [3][]float64
					for b.Loop() {
						// The reader reads the keys tier-elsewhere writes,
						// so that on Redis the server tracks them (one
						// push per key and round), untimed.
						for i := range 64 {
							keyedcache.Get[int](ctx, reader, "k", i)
						}
						for _, ct := range cs {
							start := time.Now()
							var wg sync.WaitGroup
							for w := range g {
								wg.Go(func() {
									for i := w; i < perRound; i += g {
										ct.set(i)
									}
								})
							}
							wg.Wait()
							ct.times = append(ct.times, float64(time.Since(start).Nanoseconds())/perRound)
						}
						n := len(cs[0].times) - 1
						ratios[0] = append(ratios[0], cs[1].times[n]/cs[0].times[n])
						ratios[1] = append(ratios[1], cs[2].times[n]/cs[0].times[n])
						ratios[2] = append(ratios[2], cs[2].times[n]/cs[1].times[n])
					}
					for _, ct := range cs {
						b.ReportMetric(median(ct.times), ct.name+"-ns/set")
					}
					b.ReportMetric(median(ratios[0]), "none/backend")
					b.ReportMetric(median(ratios[1]), "tier-elsewhere/backend")
					b.ReportMetric(median(ratios[2]), "tier-elsewhere/none")
					if errs := none.Stats().Errors + elsewhere.Stats().Errors; errs > 0 {
						b.ReportMetric(float64(errs), "errors") // dropped writes: the machine was too busy
					}
				})
			}
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
