package function

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/singleflight"

	"keyedcache.dev/function"
	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	_ "keyedcache.dev/keyedcache/backend/memcached"
	_ "keyedcache.dev/keyedcache/backend/sqldb/postgres"
	_ "keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

// The stampede: callers spread over 4 processes ask for one cold key at
// once; the function sleeps 5 ms and appends a line to a file opened
// O_APPEND for every call, so that the calls of every process are
// counted in one place. Each process opens the same cache: a file://
// directory, an SQLite file, or a Redis, memcached or PostgreSQL server
// on loopback (started by internal/testserver), each with its default
// timeouts. The processes are this test binary started again (the
// os.Args[0] pattern); they start their goroutines when a gate file
// appears, all at once.

const (
	procs      = 4
	rounds     = 5
	sleepFor   = 5 * time.Millisecond
	envRole    = "BENCH_FUNCTION_ROLE"
	envURL     = "BENCH_FUNCTION_URL"
	envCount   = "BENCH_FUNCTION_COUNT"
	envGate    = "BENCH_FUNCTION_GATE"
	envKey     = "BENCH_FUNCTION_KEY"
	envPerProc = "BENCH_FUNCTION_PER_PROC"
)

var strategies = []string{"none", "singleflight", "keyedcache"}

// stampedeBackends are the caches the processes share: the name, and the
// URL of a fresh one.
var stampedeBackends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"file", func(t *testing.T) string { return "file://" + t.TempDir() }},
	{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "cache.db") }},
	{"redis", func(t *testing.T) string { return "redis://" + testserver.Redis(t).Addr }},
	{"memcached", func(t *testing.T) string { return "memcached://" + testserver.Memcached(t).Addr }},
	{"postgres", func(t *testing.T) string { return testserver.Postgres(t).DSN }},
}

func TestStampede(t *testing.T) {
	if role := os.Getenv(envRole); role != "" {
		child(t, role)
		return
	}
	if testing.Short() {
		t.Skip("a measurement: starts 600 processes")
	}
	type row struct {
		backend  string
		strategy string
		callers  int
		calls    []int
		wall     []time.Duration
	}
	var rows []row
	for _, bk := range stampedeBackends {
		t.Run(bk.name, func(t *testing.T) {
			url := bk.url(t)
			for _, callers := range []int{64, 1000} {
				for _, s := range strategies {
					r := row{backend: bk.name, strategy: s, callers: callers}
					for round := range rounds {
						calls, wall := stampede(t, url, s, callers, fmt.Sprintf("%s-%d-%d", s, callers, round))
						r.calls = append(r.calls, calls)
						r.wall = append(r.wall, wall)
					}
					if s == "keyedcache" {
						for _, n := range r.calls {
							if n != 1 {
								t.Errorf("keyedcache: %d calls for %d callers in one round, want 1", n, callers)
							}
						}
					}
					rows = append(rows, r)
				}
			}
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| backend | strategy | callers (4 processes) | function calls, each of %d rounds | median | median wall time |\n|---|---|---|---|---|---|\n", rounds)
	for _, r := range rows {
		calls := slices.Clone(r.calls)
		slices.Sort(calls)
		walls := slices.Clone(r.wall)
		slices.Sort(walls)
		fmt.Fprintf(&b, "| %s | %s | %d | %v | %d | %v |\n", r.backend, r.strategy, r.callers, r.calls, calls[len(calls)/2], walls[len(walls)/2].Round(100*time.Microsecond))
	}
	t.Log(b.String())
}

// stampede runs one round on the cache at url, with a key of its own,
// and returns the number of function calls and the time from the gate to
// the last caller's answer.
func stampede(t *testing.T, url, strategy string, callers int, key string) (int, time.Duration) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	gate := filepath.Join(dir, "gate")
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStampede$")
		cmd.Env = append(os.Environ(), envRole+"="+strategy, envURL+"="+url, envCount+"="+count,
			envGate+"="+gate, envKey+"="+key, envPerProc+"="+strconv.Itoa(callers/procs))
		out := new(strings.Builder)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	// Let every child open its cache and start its goroutines.
	deadline := time.Now().Add(time.Minute)
	for i := 0; i < procs; {
		if _, err := os.Stat(filepath.Join(dir, "ready"+strconv.Itoa(i))); err == nil {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatal("children not ready")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, outs[i])
		}
	}
	wall := time.Since(start)
	data, err := os.ReadFile(count)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n"), wall
}

// child runs one process's share of a round.
func child(t *testing.T, strategy string) {
	ctx := context.Background()
	url, count, gate, key := os.Getenv(envURL), os.Getenv(envCount), os.Getenv(envGate), os.Getenv(envKey)
	per, _ := strconv.Atoi(os.Getenv(envPerProc))
	c, err := keyedcache.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	slow := func(ctx context.Context, k string) (string, error) {
		f, err := os.OpenFile(count, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(f, "%d\n", os.Getpid())
		f.Close()
		time.Sleep(sleepFor)
		return "value of " + k, nil
	}
	// cacheAside is what code without protection does.
	cacheAside := func(ctx context.Context, k string) (string, error) {
		v, err := keyedcache.Get[string](ctx, c, "stampede", k)
		var miss *keyedcache.NotCachedError
		if !errors.As(err, &miss) {
			return v, err
		}
		v, err = slow(ctx, k)
		if err == nil {
			c.Set(ctx, miss.Key, v)
		}
		return v, err
	}
	var call func(ctx context.Context, k string) (string, error)
	switch strategy {
	case "none":
		call = cacheAside
	case "singleflight":
		var g singleflight.Group
		call = func(ctx context.Context, k string) (string, error) {
			v, err, _ := g.Do(k, func() (any, error) { return cacheAside(ctx, k) })
			s, _ := v.(string)
			return s, err
		}
	case "keyedcache":
		call = function.New(slow, function.WithCache(c), function.WithName("stampede")).Call
	default:
		t.Fatalf("unknown strategy %q", strategy)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, per)
	for range per {
		wg.Go(func() {
			<-start
			if v, err := call(ctx, key); err != nil || v != "value of "+key {
				errs <- fmt.Errorf("got %q, %v", v, err)
			}
		})
	}
	// Tell the parent this process is ready, then wait for the gate.
	idx := 0
	for ; ; idx++ {
		f, err := os.OpenFile(filepath.Join(filepath.Dir(count), "ready"+strconv.Itoa(idx)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			break
		}
	}
	for {
		if _, err := os.Stat(gate); err == nil {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
