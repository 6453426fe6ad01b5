package function_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
)

// TestDeleteDuringComputation checks that a result computed across a
// delete is returned to its caller but never stored, whichever way the
// key was deleted, and that the next call computes afresh. The function
// blocks until the test has deleted: nothing depends on timing.
func TestDeleteDuringComputation(t *testing.T) {
	deletes := []struct {
		name string
		del  func(ctx context.Context, f *function.Func[int, string], c, other *keyedcache.Cache) error
	}{
		{"Delete", func(ctx context.Context, f *function.Func[int, string], c, other *keyedcache.Cache) error {
			return f.Delete(ctx, 1)
		}},
		{"DeleteAll", func(ctx context.Context, f *function.Func[int, string], c, other *keyedcache.Cache) error {
			return f.DeleteAll(ctx)
		}},
		{"CacheDeleteFunction", func(ctx context.Context, f *function.Func[int, string], c, other *keyedcache.Cache) error {
			return function.CacheDeleteFunction(ctx, (*gated)(nil).fn, function.WithName(f.Name()), function.WithCache(c))
		}},
		{"Cache.Delete", func(ctx context.Context, f *function.Func[int, string], c, other *keyedcache.Cache) error {
			_, err := c.Delete(ctx, f.Key(1))
			return err
		}},
		{"Cache.DeleteChildren of func", func(ctx context.Context, f *function.Func[int, string], c, other *keyedcache.Cache) error {
			return c.DeleteChildren(ctx, "func")
		}},
		{"Cache.Clear", func(ctx context.Context, f *function.Func[int, string], c, other *keyedcache.Cache) error {
			return c.Clear(ctx)
		}},
		{"other process's CacheDeleteFunction", func(ctx context.Context, f *function.Func[int, string], c, other *keyedcache.Cache) error {
			return function.CacheDeleteFunction(ctx, (*gated)(nil).fn, function.WithName(f.Name()), function.WithCache(other))
		}},
	}
	ctx := context.Background()
	for _, d := range deletes {
		t.Run(d.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, c, other *keyedcache.Cache) {
				g := newGated()
				f := function.New(g.fn, function.WithCache(c), function.WithName(uniqueName(t)))
				got := make(chan string)
				go func() {
					v, err := f.Call(ctx, 1)
					if err != nil {
						t.Error(err)
					}
					got <- v
				}()
				waitStarted(t, g) // computing, blocked
				if err := d.del(ctx, f, c, other); err != nil {
					t.Fatal(err)
				}
				g.release <- struct{}{}
				if v := <-got; v != "result 1 of 1" {
					t.Fatalf("the caller got %q, want the computed result", v)
				}
				_, err := f.Peek(ctx, 1)
				mustNotCached(t, err)
				if s := f.Stats(); s.Discarded != 1 {
					t.Fatalf("Discarded = %d, want 1", s.Discarded)
				}
				// The next call computes afresh, and that result is stored.
				go func() { g.release <- struct{}{} }()
				if v, _ := f.Call(ctx, 1); v != "result 2 of 1" {
					t.Fatalf("the next call got %q, want a new computation", v)
				}
				if v, err := f.Peek(ctx, 1); err != nil || v != "result 2 of 1" {
					t.Fatalf("then cached: %q, %v", v, err)
				}
			})
		})
	}
}

// TestDeleteStartsNewFlight checks that a call after Delete, in the
// process that deleted, does not join the computation begun before it.
func TestDeleteStartsNewFlight(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	g := newGated()
	f := function.New(g.fn, function.WithCache(c), function.WithName(uniqueName(t)))
	first := make(chan string)
	go func() {
		v, _ := f.Call(ctx, 1)
		first <- v
	}()
	waitStarted(t, g)
	f.Delete(ctx, 1)
	second := make(chan string)
	go func() {
		v, _ := f.Call(ctx, 1)
		second <- v
	}()
	waitStarted(t, g) // a second computation started
	g.release <- struct{}{}
	g.release <- struct{}{}
	a, b := <-first, <-second
	if a == b {
		t.Fatalf("both calls got %q: the call after Delete joined the computation before it", a)
	}
	if v, _ := f.Peek(ctx, 1); v != b {
		t.Fatalf("cached %q, want the second call's %q", v, b)
	}
}

// TestStaleWhileRevalidate checks that in the window after expiry
// callers get the old result at once — while the refresh is blocked —
// and that one refresh runs, in this process and in another.
func TestStaleWhileRevalidate(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, c, other *keyedcache.Cache) {
		const ttl = 50 * time.Millisecond
		name := uniqueName(t)
		g := newGated()
		opts := []function.Option{function.WithName(name), function.WithTTL(ttl), function.WithStale(time.Hour)}
		f := function.New(g.fn, append(opts, function.WithCache(c))...)
		var elsewhere counted
		h := function.New(elsewhere.fn, append(opts, function.WithCache(other))...)

		go func() { g.release <- struct{}{} }()
		old, _ := f.Call(ctx, 1)
		waitStarted(t, g)
		time.Sleep(ttl + 30*time.Millisecond) // expired, inside the window

		const callers = 50
		var wg sync.WaitGroup
		got := make([]string, callers)
		for i := range callers {
			wg.Go(func() { got[i], _ = f.Call(ctx, 1) })
		}
		wg.Wait() // they all returned, though the refresh cannot finish
		for i, v := range got {
			if v != old {
				t.Fatalf("caller %d got %q, want the stale %q", i, v, old)
			}
		}
		waitStarted(t, g) // the one refresh
		if v, _ := h.Call(ctx, 1); v != old {
			t.Fatalf("another process got %q during the refresh, want the stale %q", v, old)
		}
		g.release <- struct{}{}
		eventually(t, "the refreshed result", func() bool {
			v, err := f.Peek(ctx, 1)
			return err == nil && v != old
		})
		if n := g.n.Load(); n != 2 {
			t.Fatalf("%d computations, want 2 (the first and one refresh)", n)
		}
		if elsewhere.calls() != 0 {
			t.Fatal("the other process refreshed too")
		}
		// (Both wrappers share the name, so they share the figures.)
		if s := f.Stats(); s.StaleServed != callers+1 || s.Refreshes != 1 {
			t.Fatalf("stats %+v: want %d stale served and one refresh", s, callers+1)
		}
		if v, _ := h.Call(ctx, 1); v != "result 2 of 1" {
			t.Fatalf("after the refresh: %q", v)
		}
	})
}

// TestStaleWindowEnds checks that past the window a call computes.
func TestStaleWindowEnds(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	var cnt counted
	f := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)),
		function.WithTTL(20*time.Millisecond), function.WithStale(30*time.Millisecond))
	f.Call(ctx, 1)
	time.Sleep(80 * time.Millisecond) // past TTL and window
	if v, _ := f.Call(ctx, 1); v != "result 2 of 1" {
		t.Fatalf("past the window: %q, want a new computation", v)
	}
	if s := f.Stats(); s.StaleServed != 0 {
		t.Fatalf("served stale past the window: %+v", s)
	}
}

// TestFailedRefreshKeepsStale checks that a background refresh that
// fails or panics is logged and leaves the stale result, and that a
// later call tries again.
func TestFailedRefreshKeepsStale(t *testing.T) {
	ctx := context.Background()
	for _, failure := range []string{"error", "panic"} {
		t.Run(failure, func(t *testing.T) {
			c := openCache(t, "memory://")
			var log bytes.Buffer
			var mu sync.Mutex
			logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &log, mu: &mu}, nil))
			g := newGated()
			g.result = func(n int64) (string, error) {
				switch {
				case n == 1:
					return "first", nil
				case n == 2 && failure == "error":
					return "", errors.New("upstream down")
				case n == 2:
					panic("refresh exploded")
				}
				return "third", nil
			}
			close(g.release)
			f := function.New(g.fn, function.WithCache(c), function.WithName(uniqueName(t)), function.WithLogger(logger),
				function.WithTTL(20*time.Millisecond), function.WithStale(time.Hour), function.WithErrorTTL(time.Hour))
			f.Call(ctx, 1)
			time.Sleep(40 * time.Millisecond)
			if v, err := f.Call(ctx, 1); v != "first" || err != nil {
				t.Fatalf("stale call: %q, %v", v, err)
			}
			eventually(t, "the refresh to be logged", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return strings.Contains(log.String(), "background refresh")
			})
			if v, err := f.Peek(ctx, 1); v != "first" || err != nil {
				t.Fatalf("after the failed refresh: %q, %v; want the stale result", v, err)
			}
			// The claim was freed: the next stale call refreshes again.
			f.Call(ctx, 1)
			eventually(t, "the second refresh", func() bool {
				v, _ := f.Peek(ctx, 1)
				return v == "third"
			})
		})
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
