package memcached_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// eventually calls f until it returns nil, or fails t after d.
func eventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServerDownAndBack pauses, resumes, kills and restarts a real
// memcached under a Store: calls fail (the core turns that into misses)
// and soon fail without waiting for the network; the Store finds the
// server again by itself.
func TestServerDownAndBack(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx := ctxFor(t)
	// The timeouts are far above what loopback needs, so that a loaded
	// machine does not make a live server look down.
	s := newStore(t, memcached.Options{Servers: []string{srv.Addr}, Timeout: suiteTimeout, DownRetry: 2 * time.Second})
	c, err := keyedcache.New(s, keyedcache.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "k", []byte("before"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "typed", 42); err != nil {
		t.Fatal(err)
	}

	// A hung server: two timeouts mark it down, then calls fail fast.
	pause(srv)
	sawDown := false
	for i := range 4 {
		_, found, err := s.Get(ctx, "k")
		if err == nil || found {
			t.Fatalf("Get %d from a paused server = %v, %v; want an error", i, found, err)
		}
		if errors.Is(err, memcached.ErrServerDown) {
			sawDown = true
			if i < 2 {
				t.Fatalf("Get %d: skipped the server before two timeouts", i)
			}
		}
	}
	if !sawDown {
		t.Fatal("the paused server was never skipped")
	}
	if _, err := keyedcache.Get[int](ctx, c, "typed"); !errors.Is(err, keyedcache.ErrNotCached) {
		t.Fatalf("the core's Get from a paused server = %v, want a miss", err)
	}
	var nr *keyedcache.CacheNotRespondingError
	if err := c.Require(ctx); !errors.As(err, &nr) {
		t.Fatalf("Require on a paused server = %v, want a *CacheNotRespondingError", err)
	}

	srv.Resume()
	eventually(t, 10*time.Second, "Get after Resume", func() error {
		v, found, err := s.Get(ctx, "k")
		if err == nil && (!found || string(v) != "before") {
			t.Fatalf("after Resume: %q, found=%v; want the value from before", v, found)
		}
		return err
	})
	if v, err := keyedcache.Get[int](ctx, c, "typed"); err != nil || v != 42 {
		t.Fatalf("the core's Get after Resume = %v, %v", v, err)
	}

	// A dead server: refused connections mark it down at once.
	srv.Kill()
	if _, _, err := s.Get(ctx, "k"); err == nil {
		t.Fatal("Get from a killed server succeeded")
	}
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, memcached.ErrServerDown) {
		t.Fatalf("second Get from a killed server = %v, want ErrServerDown", err)
	}
	if err := c.Set(ctx, "typed", 43); err != nil {
		t.Fatalf("the core's Set on a dead server = %v, want the write dropped silently", err)
	}

	// Back on the same port, empty: the Store reconnects by itself.
	srv.Restart()
	eventually(t, 10*time.Second, "Set after Restart", func() error {
		return s.Set(ctx, "k", []byte("after"), time.Hour)
	})
	if v, found, err := s.Get(ctx, "k"); err != nil || !found || string(v) != "after" {
		t.Fatalf("Get after Restart = %q, %v, %v", v, found, err)
	}
	if err := c.Set(ctx, "typed", 44); err != nil {
		t.Fatal(err)
	}
	if v, err := keyedcache.Get[int](ctx, c, "typed"); err != nil || v != 44 {
		t.Fatalf("the core after Restart = %v, %v", v, err)
	}
}

// TestOneServerDown pauses one server of three: its keys miss, the
// others' keys keep working.
func TestOneServerDown(t *testing.T) {
	t.Parallel()
	s1, s2, s3 := startServer(t), startServer(t), startServer(t)
	ctx := ctxFor(t)
	s := newStore(t, memcached.Options{Servers: []string{s1.Addr, s2.Addr, s3.Addr}, Timeout: suiteTimeout, DownRetry: time.Minute})
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
		if err := s.Set(ctx, keys[i], []byte(keys[i]), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	pause(s2)
	defer s2.Resume()
	onPaused := 0
	for _, k := range keys {
		v, found, err := s.Get(ctx, k)
		if s.ServerOf(k) == s2.Addr {
			onPaused++
			if err == nil {
				t.Fatalf("%s on the paused server: found=%v, no error", k, found)
			}
			continue
		}
		if err != nil || !found || string(v) != k {
			t.Fatalf("%s on a live server: %q, %v, %v", k, v, found, err)
		}
	}
	if onPaused == 0 || onPaused == len(keys) {
		t.Fatalf("%d of %d keys on the paused server: the test needs some on each side", onPaused, len(keys))
	}
	st, err := s.BackendStats(ctx)
	if err != nil || st["servers"] != "3" || st["servers_down"] != "1" {
		t.Fatalf("BackendStats with one server paused: servers=%s servers_down=%s, %v", st["servers"], st["servers_down"], err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping with one server paused succeeded")
	}
}

// TestContext checks that a cancelled context stops a call before it
// starts, and that a deadline sooner than the network timeout ends a
// call to a hung server when the context ends.
func TestContext(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	s := newStore(t, memcached.Options{Servers: []string{srv.Addr}, Timeout: 3 * time.Second})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Get(cancelled, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context = %v", err)
	}
	if err := s.Set(cancelled, "k", []byte("v"), time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("Set with a cancelled context = %v", err)
	}
	if _, found, _ := s.Get(context.Background(), "k"); found {
		t.Fatal("a Set with a cancelled context stored its value")
	}

	pause(srv)
	defer srv.Resume()
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := s.Get(short, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get from a paused server under a 50ms deadline = %v, want the context's error, not the 3s network timeout's", err)
	}
	short2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, _, err := s.TTL(short2, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("TTL from a paused server under a 50ms deadline = %v", err)
	}
}

// TestPoolKeepsConnections counts the connections the server accepts
// for bursts of 32 concurrent reads. Each burst is made while the
// server is paused, so all 32 are in flight at once (on loopback a fast
// server answers before the next goroutine runs, and calls hardly
// overlap otherwise). With max_idle_conns at its default the connections
// of the first burst serve the second; with gomemcache's default of 2,
// all but two are closed after each burst and opened again.
func TestPoolKeepsConnections(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx := ctxFor(t)
	const workers = 32
	burst := func(s *memcached.Store) {
		pause(srv)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, found, err := s.Get(ctx, "k"); err != nil || !found {
					t.Errorf("Get: %v, %v", found, err)
				}
			}()
		}
		time.Sleep(200 * time.Millisecond) // every Get sent and waiting
		srv.Resume()
		wg.Wait()
	}
	opened := func(idle int) int {
		s := newStore(t, memcached.Options{Servers: []string{srv.Addr}, MaxIdleConns: idle, Timeout: 10 * time.Second})
		if err := s.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
		burst(s)
		before, _ := strconv.Atoi(serverStat(t, srv.Addr, "total_connections"))
		burst(s)
		after, _ := strconv.Atoi(serverStat(t, srv.Addr, "total_connections"))
		return after - before - 1 // less serverStat's own connection
	}
	pooled, starved := opened(memcached.DefaultMaxIdleConns), opened(2)
	t.Logf("connections opened by a second burst of %d reads: %d with max_idle_conns=%d, %d with 2",
		workers, pooled, memcached.DefaultMaxIdleConns, starved)
	if pooled != 0 {
		t.Errorf("max_idle_conns=%d: the second burst opened %d connections, want 0", memcached.DefaultMaxIdleConns, pooled)
	}
	if starved < workers/2 {
		t.Errorf("max_idle_conns=2: the second burst opened %d connections, want most of %d", starved, workers)
	}
}

// pause stops srv and gives the signal a moment to land: testserver's
// Pause returns when the signal is sent, and a call made right after it
// can still be answered.
func pause(srv interface{ Pause() }) {
	srv.Pause()
	time.Sleep(50 * time.Millisecond)
}
