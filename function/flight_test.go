package function_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
)

// TestOneCallForAThousand checks that 1,000 goroutines missing one cold
// key at once make exactly one call.
func TestOneCallForAThousand(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, c, _ *keyedcache.Cache) {
		g := newGated()
		f := function.New(g.fn, function.WithCache(c), function.WithName(uniqueName(t)))
		const callers = 1000
		results := make([]string, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { results[i], errs[i] = f.Call(ctx, 42) })
		}
		waitStarted(t, g)
		// Release only once every caller has missed: all of them are in.
		eventually(t, "every caller to miss", func() bool { return f.Stats().Misses == callers })
		close(g.release)
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || results[i] != "result 1 of 42" {
				t.Fatalf("caller %d: %q, %v; want the one result", i, results[i], errs[i])
			}
		}
		if n := g.n.Load(); n != 1 {
			t.Fatalf("the function ran %d times for %d callers, want once", n, callers)
		}
		if s := f.Stats(); s.Computations != 1 || s.Calls != callers {
			t.Fatalf("stats %+v", s)
		}
	})
}

// TestCancelledWaiterLeaves checks that a caller whose context ends
// returns at once, and that the computation goes on for the others on a
// context that was not cancelled.
func TestCancelledWaiterLeaves(t *testing.T) {
	c := openCache(t, "memory://")
	g := newGated()
	var fnCtxErr error
	f := function.New(func(ctx context.Context, id int) (string, error) {
		v, err := g.fn(ctx, id)
		fnCtxErr = ctx.Err()
		return v, err
	}, function.WithCache(c), function.WithName(uniqueName(t)))

	first, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, err := f.Call(first, 1)
		firstErr <- err
	}()
	waitStarted(t, g)
	var wg sync.WaitGroup
	others := make([]string, 10)
	for i := range others {
		wg.Go(func() { others[i], _ = f.Call(context.Background(), 1) })
	}
	eventually(t, "the others to miss", func() bool { return f.Stats().Misses == 11 })

	cancel()
	// The cancelled caller returns while the computation is still blocked.
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	close(g.release)
	wg.Wait()
	for i, v := range others {
		if v != "result 1 of 1" {
			t.Fatalf("caller %d got %q, want the shared result", i, v)
		}
	}
	if fnCtxErr != nil {
		t.Fatalf("the computation's context was cancelled (%v) when its first caller left", fnCtxErr)
	}
	if g.n.Load() != 1 {
		t.Fatalf("%d computations, want 1", g.n.Load())
	}
	// It was stored although its first caller left.
	if v, err := f.Peek(context.Background(), 1); err != nil || v != "result 1 of 1" {
		t.Fatalf("Peek = %q, %v", v, err)
	}
}

// TestPanicReachesEveryWaiter checks that a panic reaches every caller
// of that computation as a panic with a *PanicError, caches nothing and
// leaves no claim behind.
func TestPanicReachesEveryWaiter(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, c, _ *keyedcache.Cache) {
		g := newGated()
		g.result = func(n int64) (string, error) {
			if n == 1 {
				panic("boom")
			}
			return "fine", nil
		}
		f := function.New(g.fn, function.WithCache(c), function.WithName(uniqueName(t)))
		const callers = 5
		recovered := make([]any, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				defer func() { recovered[i] = recover() }()
				f.Call(ctx, 1)
			})
		}
		waitStarted(t, g)
		eventually(t, "every caller to miss", func() bool { return f.Stats().Misses == callers })
		close(g.release)
		wg.Wait()
		for i, r := range recovered {
			pe, ok := r.(*function.PanicError)
			if !ok || pe.Value != "boom" || len(pe.Stack) == 0 || pe.Func != f.Name() {
				t.Fatalf("caller %d recovered %#v, want a *PanicError with the value and a stack", i, r)
			}
		}
		_, err := f.Peek(ctx, 1)
		mustNotCached(t, err)
		// The claim was freed: the next call computes at once, waiting for nobody.
		if v, err := f.Call(ctx, 1); err != nil || v != "fine" {
			t.Fatalf("after the panic: %q, %v", v, err)
		}
		if s := f.Stats(); s.Panics != 1 || s.LeaseWaits != 0 || s.Computations != 2 {
			t.Fatalf("stats %+v: want 1 panic, no lease wait, 2 computations", s)
		}
	})
}

// The tests below use two Cache values on one file directory as two
// processes' views, with one wrapper each (each has its own in-process
// flights); process_test.go does the same with real processes.

// TestWaitForAnotherComputation checks that a caller waits for another
// process's computation and returns its result without computing.
func TestWaitForAnotherComputation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ca, cb := openCache(t, "file://"+dir), openCache(t, "file://"+dir)
	name := uniqueName(t)
	g := newGated()
	a := function.New(g.fn, function.WithCache(ca), function.WithName(name))
	var other counted
	b := function.New(other.fn, function.WithCache(cb), function.WithName(name))

	go a.Call(ctx, 1)
	waitStarted(t, g)
	got := make(chan string)
	go func() {
		v, _ := b.Call(ctx, 1)
		got <- v
	}()
	eventually(t, "b to wait", func() bool { return b.Stats().LeaseWaits == 1 })
	close(g.release)
	if v := <-got; v != "result 1 of 1" {
		t.Fatalf("the waiting process got %q, want the other's result", v)
	}
	if other.calls() != 0 {
		t.Fatal("the waiting process computed")
	}
}

// TestMaxWait checks that a caller computes itself once the longest wait
// passes, without storing over the other computation.
func TestMaxWait(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ca, cb := openCache(t, "file://"+dir), openCache(t, "file://"+dir)
	name := uniqueName(t)
	g := newGated()
	a := function.New(g.fn, function.WithCache(ca), function.WithName(name))
	var other counted
	b := function.New(other.fn, function.WithCache(cb), function.WithName(name), function.WithMaxWait(50*time.Millisecond))
	done := make(chan string)
	go func() {
		v, _ := a.Call(ctx, 1)
		done <- v
	}()
	waitStarted(t, g)
	if v, err := b.Call(ctx, 1); err != nil || v != "result 1 of 1" || other.calls() != 1 {
		t.Fatalf("after the longest wait: %q, %v, %d computations; want its own result", v, err, other.calls())
	}
	if s := b.Stats(); s.LeaseWaits != 1 {
		t.Fatalf("stats %+v: want one lease wait", s)
	}
	close(g.release)
	<-done
	// The claimant's result is the one stored.
	if v, _ := b.Call(ctx, 1); v != "result 1 of 1" || other.calls() != 1 {
		t.Fatalf("then: %q with %d computations", v, other.calls())
	}
	if v, _ := a.Peek(ctx, 1); v != "result 1 of 1" {
		t.Fatalf("stored %q", v)
	}
}

// TestWaiterContextEnds checks that a caller waiting for another process
// returns when its context ends, without computing.
func TestWaiterContextEnds(t *testing.T) {
	dir := t.TempDir()
	ca, cb := openCache(t, "file://"+dir), openCache(t, "file://"+dir)
	name := uniqueName(t)
	g := newGated()
	a := function.New(g.fn, function.WithCache(ca), function.WithName(name))
	var other counted
	b := function.New(other.fn, function.WithCache(cb), function.WithName(name), function.WithMaxWait(500*time.Millisecond))
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Call(context.Background(), 1)
	}()
	defer func() { close(g.release); <-done }()
	waitStarted(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.Call(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's error", err)
	}
	// Its wait was abandoned with it: past the longest wait, nothing in
	// this process computes for a caller that has gone.
	time.Sleep(800 * time.Millisecond)
	if other.calls() != 0 {
		t.Fatal("the waiter's flight computed after its only caller left")
	}
}
