package postgres_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/sqldb"
	"keyedcache.dev/keyedcache/backend/sqldb/postgres"
)

// TestCrossProcess shares one table between this process and child
// processes. The query timeout is raised from its default: a write that
// timed out on a loaded machine is dropped, which is right, but the
// other process would then miss the value the test expects it to read.
func TestCrossProcess(t *testing.T) {
	backendtest.CrossProcess(t, func(t *testing.T) string {
		return testserver.Postgres(t).DSN + "&table=xproc&query_timeout=10s"
	})
}

// TestOutage stops the server under a cache with the default timeouts:
// first a hung server under a bare Store, then the shared outage test
// (hung, killed, restarted) through keyedcache.
func TestOutage(t *testing.T) {
	pg := wholeServer{testserver.Postgres(t), t}
	t.Run("HungServerTimesOut", func(t *testing.T) { testHung(t, pg) })
	backendtest.Outage(t, pg.DSN+"&table=outage", pg)
}

// timedOut reports an error of a deadline: the context's, or a socket's.
func timedOut(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}

// wholeServer signals every process of a PostgreSQL server. Each backend
// process (one per connection) calls setsid, so the signals that
// testserver sends to the postmaster's process group do not reach
// them: a "paused" server would go on answering on the connections it
// has. wholeServer also stops, resumes and kills the postmaster's
// children, found by their parent in /proc.
type wholeServer struct {
	*testserver.Server
	t *testing.T
}

func (s wholeServer) Pause() {
	s.Server.Pause() // first, so that no child is forked after the scan
	s.children(syscall.SIGSTOP)
}

func (s wholeServer) Resume() {
	s.children(syscall.SIGCONT)
	s.Server.Resume()
}

func (s wholeServer) Kill() {
	s.children(syscall.SIGCONT, syscall.SIGKILL)
	s.Server.Kill()
}

func (s wholeServer) Restart() {
	s.Kill()
	s.Server.Restart()
}

// children sends sigs to every process whose parent is the postmaster
// (its pid is the first line of postmaster.pid in the data directory).
func (s wholeServer) children(sigs ...syscall.Signal) {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, "data", "postmaster.pid"))
	if err != nil {
		s.t.Fatalf("postmaster.pid: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		s.t.Fatalf("postmaster.pid: %q", first)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		stat, err := os.ReadFile(p)
		if err != nil {
			continue // exited
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(pm) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		for _, sig := range sigs {
			_ = syscall.Kill(pid, sig)
		}
	}
}

// testHung shows that a call on a server that has stopped answering
// (SIGSTOP: connections stay open, nothing replies) ends with a timeout
// error, whether it finds a connection already open (the socket's
// deadline) or has to dial one (the connect timeout), whether the
// caller's context can be cancelled or not, and that the Store works
// again once the server answers.
func testHung(t *testing.T, pg wholeServer) {
	ctx := context.Background()
	o := postgres.Options{Options: sqldb.Options{Table: "hung", QueryTimeout: 300 * time.Millisecond, MaxConns: 2}}
	warm, err := postgres.Open(pg.DSN, o)
	if err != nil {
		t.Fatal(err)
	}
	defer warm.Close()
	cold, err := postgres.Open(pg.DSN, o)
	if err != nil {
		t.Fatal(err)
	}
	defer cold.Close()
	// The first Set opens warm's connection, which on a loaded machine
	// can take longer than the short query timeout: try until it is in.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := warm.Set(ctx, "k", []byte("v"), time.Hour)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Set on a live server: %v", err)
		}
	}
	pg.Pause()
	resumed := false
	defer func() {
		if !resumed {
			pg.Resume()
		}
	}()
	cancellable, cancel := context.WithCancel(ctx)
	defer cancel()
	for name, s := range map[string]*sqldb.Store{"open connection": warm, "new connection": cold} {
		for ctxName, ctx := range map[string]context.Context{"Background": ctx, "cancellable": cancellable} {
			if _, _, err := s.Get(ctx, "k"); !timedOut(err) {
				t.Errorf("Get on a hung server, %s, %s context = %v; want a timeout", name, ctxName, err)
			}
			if err := s.Set(ctx, "k", []byte("w"), time.Hour); !timedOut(err) {
				t.Errorf("Set on a hung server, %s, %s context = %v; want a timeout", name, ctxName, err)
			}
		}
	}
	// More callers than connections: those that find every connection
	// taken wait for one no longer than the query timeout either.
	var wg sync.WaitGroup
	errs := make(chan error, 3*o.MaxConns)
	for range 3 * o.MaxConns {
		wg.Go(func() {
			_, _, err := warm.Get(ctx, "k")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !timedOut(err) {
			t.Errorf("one of %d concurrent Gets on a hung server = %v; want a timeout", 3*o.MaxConns, err)
		}
	}
	// A caller's earlier deadline wins over the query timeout.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, _, err := warm.Get(short, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get with the caller's deadline = %v; want context.DeadlineExceeded", err)
	}
	pg.Resume()
	resumed = true
	for name, s := range map[string]*sqldb.Store{"open connection": warm, "new connection": cold} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			v, found, err := s.Get(ctx, "k")
			if err == nil && found && string(v) == "v" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Get after the server came back = %q, %v, %v", name, v, found, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
