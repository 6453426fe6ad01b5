package function_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/internal/testserver"
)

// TestSlowServerIsWaitedOut checks that a call whose read and claim time
// out — the server stopped (SIGSTOP) for longer than the backend's
// timeout — does not compute while the server is stopped, and computes
// once, under the claim, when it answers again: a slow backend is not a
// backend that is down.
func TestSlowServerIsWaitedOut(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (*testserver.Server, string)
	}{
		{"redis", func(t *testing.T) (*testserver.Server, string) {
			s := testserver.Redis(t)
			return s, "redis://" + s.Addr + "?read_timeout=100ms"
		}},
		{"memcached", func(t *testing.T) (*testserver.Server, string) {
			s := testserver.Memcached(t)
			return s, "memcached://" + s.Addr + "?net_timeout=100ms"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := tc.open(t)
			c := openQuiet(t, url)
			t.Cleanup(func() { c.Close() })
			var cnt counted
			f := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)))
			ctx := context.Background()
			srv.Pause()
			resumed := false
			t.Cleanup(func() {
				if !resumed {
					srv.Resume()
				}
			})
			done := make(chan string, 1)
			go func() {
				v, err := f.Call(ctx, 1)
				if err != nil {
					t.Error(err)
				}
				done <- v
			}()
			// Its read times out, then its claim (each within a few
			// timeouts); it must wait, not compute.
			eventually(t, "the read to fail", func() bool { return f.Stats().Errors >= 1 })
			time.Sleep(time.Second)
			if n := cnt.calls(); n != 0 {
				t.Fatalf("the function ran %d times while the server was stopped, want 0: %+v", n, f.Stats())
			}
			srv.Resume()
			resumed = true
			var v string
			select {
			case v = <-done:
			case <-time.After(time.Minute):
				t.Fatal("no answer a minute after the server came back")
			}
			st := f.Stats()
			if v != "result 1 of 1" || cnt.calls() != 1 || st.Computations != 1 || st.Unclaimed != 0 {
				t.Fatalf("got %q after %d runs; stats %+v; want one computation under the claim", v, cnt.calls(), st)
			}
			if got, err := f.Peek(ctx, 1); err != nil || got != v {
				t.Fatalf("Peek = %q, %v; want the stored result %q", got, err, v)
			}
		})
	}
}

// TestOneReadPerProcess checks that, on a shared backend, the callers of
// one key in a process share one read: 250 goroutines asking for a cold
// key at once cost the server a handful of commands, not 250, and for a
// warm key fewer than one per call. (Redis counts the commands it
// processed.)
func TestOneReadPerProcess(t *testing.T) {
	srv := testserver.Redis(t)
	c := openCache(t, "redis://"+srv.Addr+"?read_timeout=10s")
	g := newGated()
	f := function.New(g.fn, function.WithCache(c), function.WithName(uniqueName(t)))
	ctx := context.Background()
	const callers = 250
	call := func() []string {
		results := make([]string, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				v, err := f.Call(ctx, 3)
				if err != nil {
					t.Error(err)
				}
				results[i] = v
			})
		}
		close(start)
		wg.Wait()
		return results
	}

	close(g.release) // the function returns at once
	before := redisCommands(t, srv)
	cold := call()
	coldCommands := redisCommands(t, srv) - before - 1 // (less the INFO itself)
	before = redisCommands(t, srv)
	warm := call()
	warmCommands := redisCommands(t, srv) - before - 1

	for i := range callers {
		if cold[i] != "result 1 of 3" || warm[i] != cold[i] {
			t.Fatalf("caller %d: %q then %q, want the one result twice", i, cold[i], warm[i])
		}
	}
	if st := f.Stats(); st.Computations != 1 || st.Calls != 2*callers || st.Hits+st.Misses != 2*callers {
		t.Fatalf("stats %+v", st)
	}
	// A cold key: one shared read, one claim, the result stored, and a
	// read by each flight that starts after it ended (the goroutines that
	// come late). Far from one per caller.
	if coldCommands > callers/5 {
		t.Errorf("%d commands for %d callers of a cold key, want a handful: the callers' reads are not shared", coldCommands, callers)
	}
	if warmCommands >= callers {
		t.Errorf("%d commands for %d callers of a warm key, want fewer than one per call", warmCommands, callers)
	}
	t.Logf("commands: %d for a cold key, %d for a warm one, %d callers each", coldCommands, warmCommands, callers)
}

// redisCommands returns the number of commands the server has processed.
func redisCommands(t *testing.T, srv *testserver.Server) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("INFO stats\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("no total_commands_processed in INFO stats: %v", err)
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
}
