package sql

import (
	"context"
	"errors"
	"keyedcache.dev/bench/internal/load"
	"strconv"
	"testing"
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
	load.Run(b, g, op, load.Config{Tolerate: func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }})
}
