package interleave

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A contender that does twice the anchor's work has a time ratio near
// 2, and a throughput ratio near 0.5, in every round.
func BenchmarkSelf(b *testing.B) {
	spin := func(d time.Duration) func(context.Context, int) error {
		return func(context.Context, int) error {
			for start := time.Now(); time.Since(start) < d; {
			}
			return nil
		}
	}
	res := Run(b, Config{PerRound: 200, Goroutines: 1}, []Contender{
		{Name: "one", Call: spin(10 * time.Microsecond)},
		{Name: "two", Call: spin(20 * time.Microsecond)},
	})
	if len(res.Rounds[0]) != len(res.Rounds[1]) {
		b.Fatalf("rounds: %d and %d", len(res.Rounds[0]), len(res.Rounds[1]))
	}
}

func TestRatios(t *testing.T) {
	r := Result{Rounds: [][]time.Duration{{10, 20}, {20, 20}}}
	got := r.Ratios(1, false)
	if got[0] != 2 || got[1] != 1 {
		t.Errorf("time ratios = %v, want [2 1]", got)
	}
	got = r.Ratios(1, true)
	if got[0] != 0.5 || got[1] != 1 {
		t.Errorf("throughput ratios = %v, want [0.5 1]", got)
	}
}

func TestFailingCallFails(t *testing.T) {
	res := testing.Benchmark(func(b *testing.B) {
		Run(b, Config{PerRound: 4}, []Contender{
			{Name: "ok", Call: func(context.Context, int) error { return nil }},
			{Name: "bad", Call: func(context.Context, int) error { return errors.New("wrong") }},
		})
	})
	if res.N != 0 {
		t.Errorf("a benchmark whose contender fails reported N = %d, want a failure", res.N)
	}
}
