package backendtest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
)

// A Server is a real server that a test can stop and start, such as
// the ones internal/testserver starts.
type Server interface {
	Pause()   // stop answering but keep connections open (SIGSTOP)
	Resume()  // answer again (SIGCONT)
	Kill()    // die at once (SIGKILL)
	Restart() // start again at the same address
}

// OutageBound is how long any call may take while the server is hung or
// down before Outage calls it a hang. It is far above the few hundred
// milliseconds a backend's default timeout should allow, so that a slow
// machine does not fail the test, and far below "forever".
const OutageBound = 5 * time.Second

// Outage shows what callers see when the server behind url fails: while
// it is hung (SIGSTOP) and while it is dead (SIGKILL), every call returns
// within OutageBound, reads miss with the cause attached, writes are
// dropped without an error, failures are counted in Stats, a delete is
// queued (its error matches keyedcache.ErrInvalidationPending) and its
// key reads as a miss, and nothing panics; once the server is back, the
// same Cache works again without being reopened, and the queued delete
// has been replayed: the value it deleted is gone. url should leave the backend's own timeouts at their
// defaults, which is what is being tested. The p50 and p99 latency of a
// read while the server is down are logged.
func Outage(t *testing.T, url string, srv Server) {
	c := openURL(t, url, "outage")
	ctx := context.Background()
	// The values the test starts from. On the default timeouts a loaded
	// machine can time a write out, and a cache drops it, rightly: write
	// until both read back.
	eventually(t, "the first writes", func() bool {
		if c.Set(ctx, "alive", "yes") != nil || c.Set(ctx, "doomed", "old") != nil {
			return false
		}
		alive, err1 := keyedcache.Get[string](ctx, c, "alive")
		doomed, err2 := keyedcache.Get[string](ctx, c, "doomed")
		return err1 == nil && alive == "yes" && err2 == nil && doomed == "old"
	})

	replayedBefore := c.Stats().ReplayedInvalidations
	srv.Pause()
	hung := probeDown(t, c, "hung")
	srv.Resume()
	// A read that works does not mean the queue is empty yet: the replay
	// attempt it waited for can time out on a server that has just woken
	// on a loaded machine, and the read, whose key no queued delete
	// covers, then goes on. The retrier replays the queue soon after.
	eventually(t, "reads and the replay after SIGCONT", func() bool {
		v, err := keyedcache.Get[string](ctx, c, "alive")
		return err == nil && v == "yes" && c.Stats().PendingInvalidations == 0
	})
	if st := c.Stats(); st.ReplayedInvalidations == replayedBefore {
		t.Fatalf("after SIGCONT: %d invalidations pending, %d replayed; want 0 and some", st.PendingInvalidations, st.ReplayedInvalidations)
	}
	wantGone(t, c, "doomed") // the delete made while the server hung was replayed

	srv.Kill()
	dead := probeDown(t, c, "dead")
	srv.Restart()
	eventually(t, "writes and reads after a restart", func() bool {
		if err := c.Set(ctx, "back", "again"); err != nil {
			return false
		}
		v, err := keyedcache.Get[string](ctx, c, "back")
		return err == nil && v == "again"
	})
	t.Logf("CacheGet while the server is down: hung (SIGSTOP) p50 %v p99 %v; dead (SIGKILL) p50 %v p99 %v",
		hung.p50, hung.p99, dead.p50, dead.p99)
}

type latency struct{ p50, p99 time.Duration }

// probeDown checks the calls on a server that does not answer.
func probeDown(t *testing.T, c *keyedcache.Cache, state string) latency {
	t.Helper()
	ctx := context.Background()
	before := c.Stats().Errors
	timed := func(what string, f func()) time.Duration {
		t.Helper()
		start := time.Now()
		f()
		d := time.Since(start)
		if d > OutageBound {
			t.Fatalf("%s server: %s took %v", state, what, d)
		}
		return d
	}

	var reads []time.Duration
	for range 20 {
		reads = append(reads, timed("Get", func() {
			_, err := keyedcache.Get[string](ctx, c, "alive")
			var nc *keyedcache.NotCachedError
			if !errors.As(err, &nc) || nc.Err == nil {
				t.Fatalf("%s server: Get = %v; want a miss that carries the cause", state, err)
			}
		}))
	}
	timed("Set", func() {
		if err := c.Set(ctx, "dropped", 1); err != nil {
			t.Fatalf("%s server: Set = %v; want the write dropped without an error", state, err)
		}
	})
	timed("IsCached", func() {
		if c.IsCached(ctx, "alive") {
			t.Fatalf("%s server: IsCached = true", state)
		}
	})
	timed("Add", func() {
		if ok, err := c.Add(ctx, "lease", 1); err == nil || ok {
			t.Fatalf("%s server: Add = %v, %v; want false and the error (a lease must not be won on a failure)", state, ok, err)
		}
	})
	timed("Delete", func() {
		if _, err := c.Delete(ctx, "doomed"); !errors.Is(err, keyedcache.ErrInvalidationPending) {
			t.Fatalf("%s server: Delete = %v; want an error matching ErrInvalidationPending (queued for replay)", state, err)
		}
	})
	timed("Get of the deleted key", func() {
		_, err := keyedcache.Get[string](ctx, c, "doomed")
		if !errors.Is(err, keyedcache.ErrNotCached) || !errors.Is(err, keyedcache.ErrInvalidationPending) {
			t.Fatalf("%s server: Get of a key whose delete is queued = %v; want a miss that says the invalidation is pending", state, err)
		}
	})
	if n := c.Stats().PendingInvalidations; n == 0 {
		t.Fatalf("%s server: no invalidation pending after a failed Delete", state)
	}
	timed("Require", func() {
		if err := c.Require(ctx); !errors.Is(err, keyedcache.ErrCacheNotResponding) {
			t.Fatalf("%s server: Require = %v; want ErrCacheNotResponding", state, err)
		}
	})
	// Many callers at once: none waits behind another past the bound.
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := timed("a concurrent Get", func() { _, _ = keyedcache.Get[string](ctx, c, "alive") })
			mu.Lock()
			reads = append(reads, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got := c.Stats().Errors - before; got < 20 {
		t.Fatalf("%s server: %d errors counted after 20 failed reads and more", state, got)
	}
	slices.Sort(reads)
	return latency{p50: reads[len(reads)/2], p99: reads[len(reads)*99/100]}
}

// eventually polls cond until it holds, failing t after 20 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the backend did not recover within 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
