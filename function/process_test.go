package function_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/keyedcache"
)

// The tests in this file start the test binary again as child processes
// (internal/testproc) that share a file:// cache directory, and count
// computations by appending lines to a file opened O_APPEND. Children
// report on standard output in "name=value" lines, and wait for files
// the parent creates, so that every step happens in a known order.

const (
	envDir    = "FUNCTION_TEST_DIR"    // the cache directory
	envCount  = "FUNCTION_TEST_COUNT"  // one line per computation
	envGate   = "FUNCTION_TEST_GATE"   // created when the children may start
	envFinish = "FUNCTION_TEST_FINISH" // created when computations may finish
	envName   = "FUNCTION_TEST_NAME"   // the cached function's name
)

// shared is what parent and children agree on.
type shared struct {
	dir, count, gate, finish, name string
}

func newShared(t *testing.T) shared {
	tmp := t.TempDir()
	return shared{
		dir:    filepath.Join(tmp, "cache"),
		count:  filepath.Join(tmp, "count"),
		gate:   filepath.Join(tmp, "gate"),
		finish: filepath.Join(tmp, "finish"),
		name:   uniqueName(t),
	}
}

func (s shared) env() []string {
	return []string{envDir + "=" + s.dir, envCount + "=" + s.count, envGate + "=" + s.gate, envFinish + "=" + s.finish, envName + "=" + s.name}
}

func sharedFromEnv() shared {
	return shared{dir: os.Getenv(envDir), count: os.Getenv(envCount), gate: os.Getenv(envGate), finish: os.Getenv(envFinish), name: os.Getenv(envName)}
}

func (s shared) cache(t testing.TB) *keyedcache.Cache { return openCache(t, "file://"+s.dir) }

// blockingFn counts a computation, waits for the finish file and returns
// a result naming the process that computed it.
func (s shared) blockingFn() func(ctx context.Context, id int) (string, error) {
	return func(ctx context.Context, id int) (string, error) {
		if err := appendLine(s.count, strconv.Itoa(os.Getpid())); err != nil {
			return "", err
		}
		if _, child := testproc.Role(); child {
			fmt.Println("computing")
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
			if _, err := os.Stat(s.finish); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return "", fmt.Errorf("no %s after a minute", s.finish)
			}
		}
		return fmt.Sprintf("computed by %d", os.Getpid()), nil
	}
}

// field returns the value of the last "name=value" line in out.
func field(t testing.TB, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name)+`=(.*)$`).FindAllStringSubmatch(out, -1)
	if m == nil {
		t.Fatalf("no %s= line in the child's output:\n%s", name, out)
	}
	return m[len(m)-1][1]
}

func fieldInt(t testing.TB, out, name string) int {
	t.Helper()
	n, err := strconv.Atoi(field(t, out, name))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStampedeAcrossProcesses checks that 4 processes × 250 goroutines
// on one cold key make exactly one computation, and all get its result.
func TestStampedeAcrossProcesses(t *testing.T) {
	const procs, perProc = 4, 250
	if _, ok := testproc.Role(); ok {
		s := sharedFromEnv()
		f := function.New(s.blockingFn(), function.WithCache(s.cache(t)), function.WithName(s.name))
		fmt.Println("ready")
		waitFile(t, s.gate)
		// Every goroutine has missed: the whole process is waiting.
		result := callTogether(t, f, perProc, "every goroutine to miss", func() bool { return f.Stats().Misses == perProc })
		st := f.Stats()
		fmt.Printf("result=%s\ncomputations=%d\nlease_waits=%d\n", result, st.Computations, st.LeaseWaits)
		return
	}
	s := newShared(t)
	children := make([]*testproc.Proc, procs)
	for i := range children {
		children[i] = testproc.Start(t, "stampede", s.env()...)
	}
	for _, p := range children {
		p.WaitFor(t, "ready", time.Minute)
	}
	touch(t, s.gate)
	for _, p := range children {
		p.WaitFor(t, "waiting", time.Minute)
	}
	touch(t, s.finish) // only now may the computation finish
	computations, waits := 0, 0
	var result string
	for i, p := range children {
		p.Wait(t)
		out := p.Output()
		if r := field(t, out, "result"); i == 0 {
			result = r
		} else if r != result {
			t.Fatalf("process %d got %q, process 0 got %q", i, r, result)
		}
		computations += fieldInt(t, out, "computations")
		waits += fieldInt(t, out, "lease_waits")
	}
	if got := lines(t, s.count); len(got) != 1 {
		t.Fatalf("%d computations across %d processes × %d goroutines (by pid: %v), want exactly 1", len(got), procs, perProc, got)
	}
	if computations != 1 || waits != procs-1 {
		t.Fatalf("children counted %d computations and %d lease waits, want 1 and %d", computations, waits, procs-1)
	}
}

// TestLeaseHolderDies checks that when the process computing a key dies,
// another takes over once its lease expires.
func TestLeaseHolderDies(t *testing.T) {
	const lease = 2 * time.Second // its last renewal must outlive the kill, however slow the machine
	if _, ok := testproc.Role(); ok {
		s := sharedFromEnv()
		f := function.New(s.blockingFn(), function.WithCache(s.cache(t)), function.WithName(s.name), function.WithLease(lease))
		f.Call(context.Background(), 1) // never returns: the parent kills it
		t.Fatal("the computation finished")
		return
	}
	s := newShared(t)
	holder := testproc.Start(t, "holder", s.env()...)
	holder.WaitFor(t, "computing", time.Minute)
	holder.Kill()

	touch(t, s.finish) // the parent's own computation may finish
	f := function.New(s.blockingFn(), function.WithCache(s.cache(t)), function.WithName(s.name), function.WithLease(lease))
	v, err := f.Call(context.Background(), 1)
	if want := fmt.Sprintf("computed by %d", os.Getpid()); err != nil || v != want {
		t.Fatalf("got %q, %v; want %q", v, err, want)
	}
	if st := f.Stats(); st.LeaseWaits != 1 || st.Computations != 1 {
		t.Fatalf("stats %+v: want one wait for the dead holder's lease, then one computation", st)
	}
	if got := lines(t, s.count); len(got) != 2 {
		t.Fatalf("computations by pid %v, want the dead holder's and ours", got)
	}
	if p, err := f.Peek(context.Background(), 1); err != nil || p != v {
		t.Fatalf("the result taken over was not stored: %q, %v", p, err)
	}
}

// TestDeleteInAnotherProcess checks that a delete in one process while
// another computes stops that result from being stored.
func TestDeleteInAnotherProcess(t *testing.T) {
	if _, ok := testproc.Role(); ok {
		s := sharedFromEnv()
		f := function.New(s.blockingFn(), function.WithCache(s.cache(t)), function.WithName(s.name))
		v, err := f.Call(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("result=%s\ndiscarded=%d\n", v, f.Stats().Discarded)
		return
	}
	s := newShared(t)
	child := testproc.Start(t, "computer", s.env()...)
	child.WaitFor(t, "computing", time.Minute)

	ctx := context.Background()
	c := s.cache(t)
	if err := function.CacheDeleteFunction(ctx, s.blockingFn(), function.WithName(s.name), function.WithCache(c)); err != nil {
		t.Fatal(err)
	}
	touch(t, s.finish)
	child.Wait(t)
	out := child.Output()
	if got, want := field(t, out, "result"), fmt.Sprintf("computed by %d", os.Getpid()); got == want || got == "" {
		t.Fatalf("the child returned %q", got)
	}
	if fieldInt(t, out, "discarded") != 1 {
		t.Fatalf("the child did not discard its result:\n%s", out)
	}
	f := function.New(s.blockingFn(), function.WithCache(c), function.WithName(s.name))
	_, err := f.Peek(ctx, 1)
	mustNotCached(t, err)
	if v, _ := f.Call(ctx, 1); v != fmt.Sprintf("computed by %d", os.Getpid()) {
		t.Fatalf("the next call got %q, want its own computation", v)
	}
}

// TestStaleRefreshOnceAcrossProcesses checks that in the stale window
// every process serves the old result and one refresh runs in all.
func TestStaleRefreshOnceAcrossProcesses(t *testing.T) {
	const procs, perProc = 4, 50
	opts := func(s shared, c *keyedcache.Cache) []function.Option {
		return []function.Option{function.WithCache(c), function.WithName(s.name), function.WithTTL(50 * time.Millisecond), function.WithStale(time.Hour)}
	}
	if _, ok := testproc.Role(); ok {
		s := sharedFromEnv()
		f := function.New(s.blockingFn(), opts(s, s.cache(t))...)
		fmt.Println("ready")
		waitFile(t, s.gate)
		var wg sync.WaitGroup
		for range perProc {
			wg.Go(func() {
				if v, err := f.Call(context.Background(), 1); v != "old" || err != nil {
					t.Errorf("got %q, %v; want the stale result", v, err)
				}
			})
		}
		wg.Wait()
		fmt.Println("done")
		// Stay until the refresh (in whichever process) has stored.
		eventually(t, "the refreshed result", func() bool {
			v, err := f.Peek(context.Background(), 1)
			return err == nil && v != "old"
		})
		fmt.Printf("refreshes=%d\n", f.Stats().Refreshes)
		return
	}
	s := newShared(t)
	f := function.New(s.blockingFn(), opts(s, s.cache(t))...)
	if err := f.Set(context.Background(), 1, "old"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // stale now
	children := make([]*testproc.Proc, procs)
	for i := range children {
		children[i] = testproc.Start(t, "stale", s.env()...)
	}
	for _, p := range children {
		p.WaitFor(t, "ready", time.Minute)
	}
	touch(t, s.gate)
	for _, p := range children {
		p.WaitFor(t, "done", time.Minute) // every call returned the stale result
	}
	touch(t, s.finish)
	refreshes := 0
	for _, p := range children {
		p.Wait(t)
		refreshes += fieldInt(t, p.Output(), "refreshes")
	}
	if got := lines(t, s.count); len(got) != 1 || refreshes != 1 {
		t.Fatalf("%d refresh computations (by pid %v), %d counted by the children; want exactly 1", len(got), got, refreshes)
	}
}
