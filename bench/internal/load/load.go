// Package load runs a benchmark's operation from many goroutines and
// reports what the side-by-side benchmarks compare: throughput, the p50
// and p99 latency of one call, and allocations.
package load

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Config adjusts Run. The zero value fails on any error and measures
// nothing more.
type Config struct {
	// Tolerate, if set, says which errors are counted and reported as
	// "timeouts" (calls that ended at a deadline on an overloaded
	// machine) instead of failing the benchmark.
	Tolerate func(error) bool
	// Around, if set, is called just before the timed part starts; the
	// function it returns is called just after it ends, before the timer
	// stops (for CPU accounting).
	Around func() (after func())
}

// Run calls op b.N times from g goroutines, each call with its index,
// and reports throughput (ops/s) and the p50 and p99 latency of a call
// (µs). It fails b on the first error op returns that cfg does not
// tolerate.
func Run(b *testing.B, g int, op func(ctx context.Context, i int) error, cfg Config) {
	b.Helper()
	ctx := context.Background()
	var next, tolerated atomic.Int64
	var failed atomic.Pointer[error]
	lat := make([][]time.Duration, g)
	for w := range lat {
		lat[w] = make([]time.Duration, 0, b.N/g+1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var after func()
	if cfg.Around != nil {
		after = cfg.Around()
	}
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
				if err := op(ctx, i); err != nil {
					if cfg.Tolerate == nil || !cfg.Tolerate(err) {
						failed.CompareAndSwap(nil, &err)
						return
					}
					tolerated.Add(1)
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if after != nil {
		after()
	}
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(all[len(all)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds())/1e3, "p99-µs")
	if cfg.Tolerate != nil {
		b.ReportMetric(float64(tolerated.Load()), "timeouts")
	}
}
