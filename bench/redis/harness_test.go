package redis

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"keyedcache.dev/bench/internal/load"
	"keyedcache.dev/internal/testserver"
)

// rounds is how many interleaved rounds a comparison runs: each round
// runs every contender once, in turn, so that the contenders of a round
// see the same machine load. Use it instead of -count, which would run
// each contender's repetitions back to back.
var rounds = flag.Int("rounds", 6, "interleaved rounds of every comparison (use instead of -count)")

// A contender is one side of a comparison: a name and its operation.
type contender struct {
	name string
	op   func(ctx context.Context, i int) error
}

// interleave runs the comparison of contenders at g goroutines in
// rounds: round r runs every contender in turn, as the sub-benchmark
// "g=G/round=R/KEY=NAME", in the given order in odd rounds and reversed
// in even ones, so that neither side always runs first. Compare them
// with "benchstat -ignore round -col /KEY".
func interleave(b *testing.B, g int, key string, cs []contender) {
	b.Helper()
	for r := 1; r <= *rounds; r++ {
		for j := range cs {
			c := cs[j]
			if r%2 == 0 {
				c = cs[len(cs)-1-j]
			}
			b.Run(fmt.Sprintf("g=%d/round=%d/%s=%s", g, r, key, c.name), func(b *testing.B) {
				run(b, g, c.op)
			})
		}
	}
}

// goroutineCounts are the numbers of concurrent callers measured.
var goroutineCounts = []int{1, 8, 64}

const (
	numKeys   = 10_000 // the keys read, all present
	valueSize = 128    // bytes per raw value
)

// benchKey returns the i-th key of the workload.
func benchKey(i int) string { return "bench::key::" + strconv.Itoa(i%numKeys) }

// serverPID is the process of the redis-server the benchmarks use, so
// that run can report the server's CPU time per operation.
var serverPID int

// startServer starts the benchmark's redis-server and records its pid.
func startServer(b *testing.B) *testserver.Server {
	srv := testserver.Redis(b)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	info, err := c.Do(context.Background(), c.B().Info().Section("server").Build()).ToString()
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			serverPID, _ = strconv.Atoi(v)
		}
	}
	if serverPID == 0 {
		b.Fatal("no process_id in INFO server")
	}
	return srv
}

// cpuTimes returns the CPU time (user + system) this process and the
// server have used so far.
func cpuTimes(b *testing.B) (self, server time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(serverPID) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields 14 and 15 (utime, stime) in clock ticks, after the command
	// name in parentheses.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	server = time.Duration(ut+st) * time.Second / clockTicks
	return self, server
}

// warm calls op from 64 goroutines 50 times each before a client is
// measured. A rueidis connection starts in a synchronous mode and switches
// for good to pipelining (a writer and a reader goroutine) the first time
// two calls overlap, which in a service happens at once; the switch costs
// a lone caller some microseconds per call. Warming every client this way
// measures them all in the state they run in.
func warm(b *testing.B, op func(ctx context.Context, i int) error) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 64 {
		wg.Go(func() {
			for i := range 50 {
				if err := op(context.Background(), w*50+i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// run calls op b.N times from g goroutines, each call with its index,
// and reports throughput (ops/s), the p50 and p99 latency of a call (µs),
// and the CPU time per call of this process (client) and of the server
// (µs; the server's is counted in 10 ms ticks, so it needs runs of a
// second or more). CPU per call does not depend on what else the
// machine runs, which throughput on a shared machine does. It fails b on
// the first error op returns.
func run(b *testing.B, g int, op func(ctx context.Context, i int) error) {
	b.Helper()
	load.Run(b, g, op, load.Config{Around: func() func() {
		cpu0, srv0 := cpuTimes(b)
		return func() {
			cpu1, srv1 := cpuTimes(b)
			b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/1e3/float64(b.N), "client-cpu-µs/op")
			b.ReportMetric(float64((srv1-srv0).Nanoseconds())/1e3/float64(b.N), "server-cpu-µs/op")
		}
	}})
}
