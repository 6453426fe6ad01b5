package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/backendtest"
)

// TestCrossProcess shares one database file between this process and
// child processes. The query timeout is raised from its default because
// under -race SQLite runs many times slower, and a write that timed out
// is dropped: the other process would miss the value the test expects.
func TestCrossProcess(t *testing.T) {
	backendtest.CrossProcess(t, func(t *testing.T) string {
		return "sqlite://" + filepath.Join(t.TempDir(), "shared.db") + "?query_timeout=10s"
	})
}

// Environment of the children of TestConcurrentWriters.
const (
	envURL = "SQLITE_TEST_URL"
	envID  = "SQLITE_TEST_ID"
)

const (
	writers = 4   // processes
	rounds  = 150 // writes of each kind per process
	leases  = 10  // keys every process tries to Add
)

// TestConcurrentWriters starts several processes that write to one
// database file at the same moment: WAL and the busy timeout must let
// every write succeed, and Incr and Add must stay atomic across them.
// The query timeout is raised from its default because under -race
// SQLite runs many times slower, so that the processes' lock waits add
// up to more than the default's 500ms.
func TestConcurrentWriters(t *testing.T) {
	if role, ok := testproc.Role(); ok {
		concurrentWriter(t, role, os.Getenv(envURL), os.Getenv(envID))
		return
	}
	url := "sqlite://" + filepath.Join(t.TempDir(), "shared.db") + "?query_timeout=10s"
	c, err := keyedcache.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "count", 0, keyedcache.TTL(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var procs []*testproc.Proc
	for i := range writers {
		procs = append(procs, testproc.Start(t, "writer", envURL+"="+url, envID+"="+strconv.Itoa(i)))
	}
	for _, p := range procs {
		p.Wait(t)
	}
	count, err := keyedcache.Get[int](ctx, c, "count")
	if err != nil || count != writers*rounds {
		t.Fatalf("count = %d, %v after %d increments from %d processes", count, err, writers*rounds, writers)
	}
	wins := 0
	for i := range writers {
		n, err := keyedcache.Get[int](ctx, c, "wins", i)
		if err != nil {
			t.Fatalf("wins of writer %d: %v", i, err)
		}
		wins += n
		for r := range rounds {
			if v, err := keyedcache.Get[int](ctx, c, "own", i, r); err != nil || v != r {
				t.Fatalf("own::%d::%d = %d, %v; want %d", i, r, v, err, r)
			}
		}
	}
	if wins != leases {
		t.Fatalf("%d Adds won over %d keys that every process added: Add is not atomic across processes", wins, leases)
	}
}

func concurrentWriter(t *testing.T, role, url, id string) {
	if role != "writer" || url == "" || id == "" {
		t.Fatalf("child %q without %s and %s", role, envURL, envID)
	}
	c, err := keyedcache.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	wins := 0
	for r := range rounds {
		if err := c.Set(ctx, c.Key("own", id, r), r); err != nil {
			t.Fatalf("Set: %v", err)
		}
		if _, err := c.Incr(ctx, "count", 1); err != nil {
			t.Fatalf("Incr: %v", err)
		}
		if r < leases {
			won, err := c.Add(ctx, fmt.Sprint("lease::", r), id)
			if err != nil {
				t.Fatalf("Add: %v", err)
			}
			if won {
				wins++
			}
		}
	}
	if err := c.Set(ctx, c.Key("wins", id), wins); err != nil {
		t.Fatalf("Set: %v", err)
	}
}
