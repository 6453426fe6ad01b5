package sql

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// goroutineCounts are the numbers of concurrent callers measured.
var goroutineCounts = []int{1, 8, 64}

const (
	numKeys   = 10_000 // the keys read, all present
	valueSize = 128    // bytes per value
)

// benchKey returns the i-th key of the workload.
func benchKey(i int) string { return "bench::key::" + strconv.Itoa(i%numKeys) }

// run calls op b.N times from g goroutines, each call with its index,
// and reports throughput (ops/s), the p50 and p99 latency of a call (µs)
// and the calls that ended at a deadline (timeouts, which happen only
// on a badly overloaded machine). It fails b on any other error.
func run(b *testing.B, g int, op func(ctx context.Context, i int) error) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var timeouts atomic.Int64
	var failed atomic.Pointer[error]
	lat := make([][]time.Duration, g)
	for w := range lat {
		lat[w] = make([]time.Duration, 0, b.N/g+1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range g {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N || failed.Load() != nil {
					return
				}
				t0 := time.Now()
				if err := op(ctx, i); errors.Is(err, context.DeadlineExceeded) {
					timeouts.Add(1)
				} else if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(all[len(all)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(timeouts.Load()), "timeouts")
}
