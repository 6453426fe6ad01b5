package function_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	_ "keyedcache.dev/keyedcache/backend/groupcache"
)

// On groupcache the owning peer fills (backend.Filler): these tests run
// the wrappers on it, alone in this process (one node per process, one
// namespace per test) and as three peer processes.

var gcNode struct {
	once sync.Once
	addr string
}

// openGroupcache opens a namespace of its own on this process's node.
func openGroupcache(t *testing.T) *keyedcache.Cache {
	gcNode.once.Do(func() { gcNode.addr = fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t, true)) })
	ns := fmt.Sprintf("t%d", nameSeq.Add(1))
	return openCache(t, "groupcache://"+gcNode.addr+"?namespace="+ns)
}

func TestGroupcacheParity(t *testing.T) {
	ctx := context.Background()
	c := openGroupcache(t)
	var cnt counted
	f := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)), function.WithTTL(time.Hour))
	v1, err := f.Call(ctx, 1)
	if err != nil || v1 != "result 1 of 1" {
		t.Fatalf("first call: %q, %v", v1, err)
	}
	if v, _ := f.Call(ctx, 1); v != v1 || cnt.calls() != 1 {
		t.Fatalf("second call: %q after %d computations; want %q from the cache", v, cnt.calls(), v1)
	}
	if s := f.Stats(); s.Fills != 2 || s.Computations != 1 {
		t.Fatalf("stats %+v: want 2 calls through Fill, 1 computation", s)
	}
	// Set: the owner's fill returns it.
	if err := f.Set(ctx, 1, "by hand"); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Call(ctx, 1); v != "by hand" {
		t.Fatalf("after Set: %q", v)
	}
	if v, err := f.Peek(ctx, 1); v != "by hand" || err != nil {
		t.Fatalf("Peek after Set: %q, %v", v, err)
	}
	// Delete: computed again.
	if err := f.Delete(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Call(ctx, 1); v != "result 2 of 1" {
		t.Fatalf("after Delete: %q, want a new computation", v)
	}
	// Refresh computes now; later calls get its result.
	if v, _ := f.Refresh(ctx, 1); v != "result 3 of 1" {
		t.Fatalf("Refresh: %q", v)
	}
	if v, _ := f.Call(ctx, 1); v != "result 3 of 1" {
		t.Fatalf("after Refresh: %q", v)
	}
	// CacheDeleteFunction: every result computed again.
	f.Call(ctx, 2)
	if err := function.CacheDeleteFunction(ctx, cnt.fn, function.WithName(f.Name()), function.WithCache(c)); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Call(ctx, 2); v != "result 5 of 2" {
		t.Fatalf("after CacheDeleteFunction: %q, want a new computation", v)
	}
}

func TestGroupcacheErrorsAndPanics(t *testing.T) {
	ctx := context.Background()
	c := openGroupcache(t)
	var n int
	f := function.New2(func(ctx context.Context, a string, b int) (string, error) {
		n++
		switch a {
		case "err":
			return "", fmt.Errorf("no %d", b)
		case "panic":
			panic("boom")
		}
		return strings.Repeat(a, b), nil
	}, function.WithCache(c), function.WithName(uniqueName(t)))
	if v, err := f.Call(ctx, "ab", 2); v != "abab" || err != nil {
		t.Fatalf("got %q, %v", v, err)
	}
	if _, err := f.Call(ctx, "err", 3); err == nil || err.Error() != "no 3" || n != 2 {
		t.Fatalf("error: %v after %d computations; want the function's error, computed once", err, n)
	}
	func() {
		defer func() {
			if pe, ok := recover().(*function.PanicError); !ok || pe.Value != "boom" {
				t.Fatalf("recovered %v, want a *PanicError", pe)
			}
		}()
		f.Call(ctx, "panic", 1)
	}()
	if _, err := f.Call(ctx, "err", 3); err == nil || n != 4 {
		t.Fatalf("an error was cached (%v, %d computations)", err, n)
	}
}

// TestGroupcacheFillOnceAcrossProcesses checks that 3 peer processes × 50
// goroutines on one cold key make one computation, by the owning peer.
func TestGroupcacheFillOnceAcrossProcesses(t *testing.T) {
	const procs, perProc = 3, 50
	if _, ok := testproc.Role(); ok {
		s := sharedFromEnv()
		c := openCache(t, os.Getenv("FUNCTION_TEST_URL"))
		f := function.New(s.blockingFn(), function.WithCache(c), function.WithName(s.name), function.WithTTL(time.Hour))
		fmt.Println("ready") // registered: the others may ask for it
		waitFile(t, s.gate)
		result := callTogether(t, f, perProc, "every goroutine to ask", func() bool { return f.Stats().Fills == perProc })
		fmt.Printf("result=%s\ncomputations=%d\n", result, f.Stats().Computations)
		// Stay up until every peer is done: an owner that exits early
		// would make the others compute themselves.
		waitFile(t, s.finish+".exit")
		return
	}
	s := newShared(t)
	addrs := make([]string, procs)
	peers := make([]string, procs)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t, true))
		peers[i] = "http://" + addrs[i]
	}
	children := make([]*testproc.Proc, procs)
	for i := range children {
		url := "groupcache://" + addrs[i] + "?peers=" + strings.Join(peers, ",") + "&fill_timeout=30s"
		children[i] = testproc.Start(t, "peer", append(s.env(), "FUNCTION_TEST_URL="+url)...)
	}
	for _, p := range children {
		p.WaitFor(t, "ready", time.Minute)
	}
	touch(t, s.gate)
	for _, p := range children {
		p.WaitFor(t, "waiting", time.Minute)
	}
	touch(t, s.finish)
	for _, p := range children {
		p.WaitFor(t, "computations=", time.Minute)
	}
	touch(t, s.finish+".exit")
	computations := 0
	var result string
	for i, p := range children {
		p.Wait(t)
		out := p.Output()
		if r := field(t, out, "result"); i == 0 {
			result = r
		} else if r != result {
			t.Fatalf("peer %d got %q, peer 0 got %q", i, r, result)
		}
		computations += fieldInt(t, out, "computations")
	}
	if got := lines(t, s.count); len(got) != 1 || computations != 1 {
		t.Fatalf("%d computations (by pid %v), %d counted by the peers; want exactly 1", len(got), got, computations)
	}
}
