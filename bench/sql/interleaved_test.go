package sql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkInterleaved answers one question robustly on a shared
// machine: how fast is keyedcache (and the bare Store) next to raw
// queries? Load from other users drifts over seconds, so instead of
// timing each contender in a benchmark of its own it alternates short
// rounds of each (roundOps calls of the same operation from g
// goroutines, rotating the order every round) and keeps each
// contender's fastest round. It reports µs per call of each and the
// throughput of keyedcache and of the Store as a fraction of raw
// database/sql's, without and with a per-call timeout ("store/raw",
// "keyedcache/raw+timeout": 1 is as fast, 0.9 is 10% slower). Calls
// that end at the query timeout (only on a badly overloaded machine) do
// not stop the benchmark: they are counted ("-timeouts", when any).
// b.N counts rounds; ns/op is one round of every contender.
func BenchmarkInterleaved(b *testing.B) {
	const roundOps = 2000
	for _, e := range engines {
		b.Run("engine="+e.name, func(b *testing.B) {
			cs := e.open(b)
			ctx := context.Background()
			for _, c := range cs {
				if c.name == "keyedcache" || c.name == "store" {
					for i := range numKeys {
						if err := c.set(ctx, benchKey(i), value); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			for _, op := range []string{"get", "set"} {
				for _, g := range goroutineCounts {
					b.Run(fmt.Sprintf("op=%s/g=%d", op, g), func(b *testing.B) {
						best := make([]time.Duration, len(cs))
						timeouts := make([]int, len(cs))
						for r := range b.N {
							for j := range cs {
								ci := (j + r) % len(cs)
								c := cs[ci]
								f := func(ctx context.Context, i int) error { return c.get(ctx, benchKey(i*7919)) }
								if op == "set" {
									f = func(ctx context.Context, i int) error { return c.set(ctx, benchKey(i*7919), value) }
								}
								d, n, err := round(g, roundOps, r*roundOps, f)
								if err != nil {
									b.Fatalf("%s: %v", c.name, err)
								}
								timeouts[ci] += n
								if best[ci] == 0 || d < best[ci] {
									best[ci] = d
								}
							}
						}
						var raw, rawT time.Duration
						for ci, c := range cs {
							switch c.name {
							case "raw-sql":
								raw = best[ci]
							case "raw-sql+timeout":
								rawT = best[ci]
							}
						}
						for ci, c := range cs {
							name := strings.TrimPrefix(c.name, "raw-")
							b.ReportMetric(float64(best[ci].Nanoseconds())/roundOps/1e3, name+"-µs")
							if timeouts[ci] > 0 {
								b.ReportMetric(float64(timeouts[ci]), name+"-timeouts")
							}
							if !strings.HasPrefix(c.name, "raw-") {
								b.ReportMetric(float64(raw)/float64(best[ci]), c.name+"/raw")
								b.ReportMetric(float64(rawT)/float64(best[ci]), c.name+"/raw+timeout")
							}
						}
					})
				}
			}
		})
	}
}

// round calls op n times from g goroutines (indexes from first) and
// returns the wall time and the number of calls that timed out.
func round(g, n, first int, op func(ctx context.Context, i int) error) (time.Duration, int, error) {
	ctx := context.Background()
	var next atomic.Int64
	var timeouts atomic.Int64
	var failed atomic.Pointer[error]
	start := time.Now()
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() != nil {
					return
				}
				if err := op(ctx, first+i); errors.Is(err, context.DeadlineExceeded) {
					timeouts.Add(1)
				} else if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return 0, 0, *err
	}
	return time.Since(start), int(timeouts.Load()), nil
}
