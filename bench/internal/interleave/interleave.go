// Package interleave runs benchmark contenders in interleaved rounds, so
// that their ratio holds on a shared machine.
//
// Load from other users drifts over seconds. Timing each contender in a
// benchmark of its own lets one run under a quiet machine and the next
// under a busy one, which on two shared cores moved one ratio from 0.36×
// to 11×. Run instead alternates short rounds of every contender (the
// same calls, from the same number of goroutines) inside one benchmark:
// each round times every contender in turn, so each round yields a ratio
// measured under one load, and the spread of those ratios over the
// rounds says how far to trust the median.
//
// Use it in a benchmark, with the anchor (the raw client, otter, …)
// first:
//
//	func BenchmarkGetInterleaved(b *testing.B) {
//		…
//		interleave.Run(b, interleave.Config{PerRound: 1 << 10, Goroutines: 8}, []interleave.Contender{
//			{Name: "raw", Call: func(ctx context.Context, i int) error { … }},
//			{Name: "keyedcache", Call: func(ctx context.Context, i int) error { … }},
//		})
//	}
//
// and run it with a short -benchtime (it is the number of rounds that
// counts: -benchtime=20x is 20 rounds of every contender) and -count 6.
// It reports, for every contender: <name>-ns/call, its median time per
// call over the rounds; and for every contender after the first:
// <name>/<anchor>, the median over the rounds of the ratio of its round
// time to the anchor's round time of the same round, and
// <name>/<anchor>-min and -max, the fastest and slowest such ratio. A
// ratio above 1 is slower than the anchor (with Config.Throughput, a
// ratio below 1 is). ns/op is the time of one round of all contenders.
package interleave

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Contender is one way of doing the measured call. Call is given a
// call index, unique within the round across goroutines (for spreading
// keys), and returns an error for a failed or wrong answer, which fails
// the benchmark.
type Contender struct {
	Name string
	Call func(ctx context.Context, i int) error
}

// Config adjusts Run.
type Config struct {
	// PerRound is the number of calls of one contender in a round, over
	// all goroutines; 0 means 1024.
	PerRound int
	// Goroutines is the number of goroutines that make a round's calls
	// at once; 0 means 1.
	Goroutines int
	// Throughput reports ratios as throughput (anchor time ÷ contender
	// time: 0.9 is 90% of the anchor's throughput) instead of time
	// (contender time ÷ anchor time: 1.25 is 25% slower).
	Throughput bool
	// Between, if set, runs untimed before each contender's part of a
	// round (to reset state, or to let a near tier see its marker).
	Between func(c Contender)
}

// Result is what Run measured: each contender's round times, in round
// order.
type Result struct {
	Names  []string
	Rounds [][]time.Duration // Rounds[c][r]: contender c's time in round r
}

// Ratios returns contender c's ratio to the anchor (contender 0) in
// every round, as Run reports them.
func (r Result) Ratios(c int, throughput bool) []float64 {
	out := make([]float64, len(r.Rounds[c]))
	for i, d := range r.Rounds[c] {
		a := float64(r.Rounds[0][i])
		if throughput {
			out[i] = a / float64(d)
		} else {
			out[i] = float64(d) / a
		}
	}
	return out
}

// Run calls every contender in rounds, b.N rounds in all (through
// b.Loop), each contender's part of a round being cfg.PerRound calls
// from cfg.Goroutines goroutines, and reports the metrics the package
// documentation describes. The first contender is the anchor.
func Run(b *testing.B, cfg Config, cs []Contender) Result {
	b.Helper()
	if cfg.PerRound <= 0 {
		cfg.PerRound = 1024
	}
	if cfg.Goroutines <= 0 {
		cfg.Goroutines = 1
	}
	ctx := context.Background()
	res := Result{Rounds: make([][]time.Duration, len(cs))}
	for _, c := range cs {
		res.Names = append(res.Names, c.Name)
	}
	var failed atomic.Pointer[error]
	round := func(c Contender) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range cfg.Goroutines {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= cfg.PerRound || failed.Load() != nil {
						return
					}
					if err := c.Call(ctx, i); err != nil {
						err = fmt.Errorf("%s: %w", c.Name, err)
						failed.CompareAndSwap(nil, &err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	b.ResetTimer()
	for b.Loop() {
		for i, c := range cs {
			if cfg.Between != nil {
				b.StopTimer()
				cfg.Between(c)
				b.StartTimer()
			}
			res.Rounds[i] = append(res.Rounds[i], round(c))
			if err := failed.Load(); err != nil {
				b.Fatal(*err)
			}
		}
	}
	b.StopTimer()
	for i, c := range cs {
		ds := slices.Clone(res.Rounds[i])
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds())/float64(cfg.PerRound), c.Name+"-ns/call")
		if i == 0 {
			continue
		}
		rs := res.Ratios(i, cfg.Throughput)
		slices.Sort(rs)
		name := c.Name + "/" + cs[0].Name
		b.ReportMetric(Median(rs), name)
		b.ReportMetric(rs[0], name+"-min")
		b.ReportMetric(rs[len(rs)-1], name+"-max")
	}
	return res
}

// Median returns the median of sorted values.
func Median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
