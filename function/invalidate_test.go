package function_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

// cacheDeletes are the ways to delete a function's result through the
// Cache itself, without the function's own helpers.
var cacheDeletes = []struct {
	name string
	del  func(ctx context.Context, c *keyedcache.Cache, key string) error
}{
	{"Delete", func(ctx context.Context, c *keyedcache.Cache, key string) error {
		_, err := c.Delete(ctx, key)
		return err
	}},
	{"DeleteMany", func(ctx context.Context, c *keyedcache.Cache, key string) error {
		_, err := c.DeleteMany(ctx, c.Key("unrelated"), key)
		return err
	}},
	{"DeleteChildren", func(ctx context.Context, c *keyedcache.Cache, key string) error {
		return c.DeleteChildren(ctx, "func")
	}},
	{"DeleteListed", func(ctx context.Context, c *keyedcache.Cache, key string) error {
		return c.DeleteListed(ctx, strings.TrimPrefix(key, c.KeyPrefix()), false)
	}},
	{"Clear", func(ctx context.Context, c *keyedcache.Cache, key string) error {
		return c.Clear(ctx)
	}},
}

// TestCacheDeleteStartsNewFlight checks that a call made after a delete
// through the Cache (not through the function's helpers) does not join
// a computation begun before it: it computes afresh, gets the new
// result, and the new result is what stays stored, never the one
// computed before the delete. The function blocks until the test lets it
// go: nothing depends on timing.
func TestCacheDeleteStartsNewFlight(t *testing.T) {
	ctx := context.Background()
	for _, d := range cacheDeletes {
		t.Run(d.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, c, _ *keyedcache.Cache) {
				g := newGated()
				f := function.New(g.fn, function.WithCache(c), function.WithName(uniqueName(t)))
				first := make(chan string)
				go func() {
					v, err := f.Call(ctx, 1)
					if err != nil {
						t.Error(err)
					}
					first <- v
				}()
				waitStarted(t, g) // computing "result 1", from data older than the delete
				if err := d.del(ctx, c, f.Key(1)); err != nil {
					t.Fatal(err)
				}
				second := make(chan string)
				go func() {
					v, err := f.Call(ctx, 1)
					if err != nil {
						t.Error(err)
					}
					second <- v
				}()
				select {
				case <-g.started: // a second computation: the call did not join the first
					g.release <- struct{}{}
					g.release <- struct{}{}
				case <-time.After(10 * time.Second):
					close(g.release)
					a, b := <-first, <-second
					t.Fatalf("no computation after the delete: the call after it joined the one before it, and both got %q, %q", a, b)
				}
				a, b := <-first, <-second
				if a == b {
					t.Fatalf("both calls got %q: the call after the delete was answered by the computation before it", a)
				}
				if v, err := f.Peek(ctx, 1); err != nil || v != b {
					t.Fatalf("cached %q (%v), want the result computed after the delete, %q", v, err, b)
				}
				// And later calls get it too.
				if v, err := f.Call(ctx, 1); err != nil || v != b {
					t.Fatalf("a later call got %q (%v), want %q", v, err, b)
				}
			})
		})
	}
}

// heldReads is a shared backend (it keeps no entries in the process for
// the cache to see) whose reads can be held after they have read: a
// read whose answer is still on its way back when a delete is made.
type heldReads struct {
	*memory.Store
	arm  atomic.Bool
	read chan struct{} // receives when an armed read has read
	hold chan struct{} // closed to let it return
}

func (h *heldReads) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := h.Store.Get(ctx, key)
	if h.arm.CompareAndSwap(true, false) {
		h.read <- struct{}{}
		<-h.hold
	}
	return v, ok, err
}

// sharedOnly hides every capability of heldReads but these.
type sharedOnly struct {
	backend.Backend
	backend.CompareAndSwapper
	backend.PrefixDeleter
	backend.TTLReader
}

// TestCacheDeleteDuringRead checks that a call made after a delete
// through the Cache is not answered by a read of the old result that was
// under way when the delete was made: on a shared backend a call reads
// inside its flight, and the read's answer may be older than a delete
// that returned before it did.
func TestCacheDeleteDuringRead(t *testing.T) {
	ctx := context.Background()
	for _, d := range cacheDeletes {
		t.Run(d.name, func(t *testing.T) {
			s, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatal(err)
			}
			h := &heldReads{Store: s, read: make(chan struct{}), hold: make(chan struct{})}
			c, err := keyedcache.New(sharedOnly{h, s, s, s})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.InProcess() {
				t.Fatal("the test backend must look shared")
			}
			var n atomic.Int64
			f := function.New(func(ctx context.Context, id int) (int64, error) { return n.Add(1), nil },
				function.WithCache(c), function.WithName(uniqueName(t)))
			if err := f.Set(ctx, 1, -1); err != nil { // the old result
				t.Fatal(err)
			}
			h.arm.Store(true)
			first := make(chan int64)
			go func() {
				v, err := f.Call(ctx, 1)
				if err != nil {
					t.Error(err)
				}
				first <- v
			}()
			select {
			case <-h.read: // the read has the old result, not yet returned
			case <-time.After(10 * time.Second):
				t.Fatal("the call never read")
			}
			if err := d.del(ctx, c, f.Key(1)); err != nil {
				t.Fatal(err)
			}
			type answer struct {
				v   int64
				err error
			}
			second := make(chan answer, 1)
			go func() {
				v, err := f.Call(ctx, 1)
				second <- answer{v, err}
			}()
			var got int64
			select {
			case a := <-second:
				close(h.hold)
				if a.err != nil {
					t.Fatal(a.err)
				}
				got = a.v
			case <-time.After(10 * time.Second): // it waits for the held read: it joined its flight
				close(h.hold)
				got = (<-second).v
			}
			if got != 1 {
				t.Fatalf("a call after the delete got %d, want 1, computed after it (-1 is the deleted result)", got)
			}
			if v := <-first; v != -1 {
				t.Fatalf("the call before the delete got %d, want the result it read, -1", v)
			}
			if v, err := f.Peek(ctx, 1); err != nil || v != 1 {
				t.Fatalf("cached %d (%v), want 1", v, err)
			}
		})
	}
}

// TestGroupcacheCacheDeleteStartsNewFill checks on groupcache, where a
// call asks the backend to fill, that a call after a delete of the
// function's results through the Cache does not join the fill begun
// before it.
func TestGroupcacheCacheDeleteStartsNewFill(t *testing.T) {
	ctx := context.Background()
	c := openGroupcache(t)
	g := newGated()
	f := function.New(g.fn, function.WithCache(c), function.WithName(uniqueName(t)), function.WithTTL(time.Hour))
	first := make(chan string)
	go func() {
		v, err := f.Call(ctx, 1)
		if err != nil {
			t.Error(err)
		}
		first <- v
	}()
	waitStarted(t, g)
	if err := c.DeleteChildren(ctx, "func"); err != nil {
		t.Fatal(err)
	}
	second := make(chan string)
	go func() {
		v, err := f.Call(ctx, 1)
		if err != nil {
			t.Error(err)
		}
		second <- v
	}()
	select {
	case <-g.started:
		g.release <- struct{}{}
		g.release <- struct{}{}
	case <-time.After(10 * time.Second):
		close(g.release)
		a, b := <-first, <-second
		t.Fatalf("no computation after the delete: both calls got %q, %q", a, b)
	}
	if a, b := <-first, <-second; a == b {
		t.Fatalf("both calls got %q: the call after the delete joined the fill before it", a)
	}
}
