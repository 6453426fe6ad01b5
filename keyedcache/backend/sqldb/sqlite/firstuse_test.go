package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/sqldb"
	"keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

// TestFirstUseOfFreshFile: many Stores opened on a fresh database file
// at once, their first calls at once, all succeed. (A fresh file's
// table and WAL used to be set up by whichever first call found them
// missing, and a first Add could fail with "no such table" or "database
// is locked".) The query timeout, which is also how long a call waits
// for another's lock, is 5 s, as in TestFirstUseFromTwoProcesses: on a
// loaded machine under -race a Store setting up the file can hold the
// lock for longer than the default 500 ms.
func TestFirstUseOfFreshFile(t *testing.T) {
	ctx := context.Background()
	for round := range 40 {
		path := filepath.Join(t.TempDir(), "fresh.db")
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			failed []string
		)
		start := make(chan struct{})
		for g := range 12 {
			wg.Go(func() {
				<-start
				s, err := sqlite.Open(path, sqldb.Options{QueryTimeout: 5 * time.Second})
				if err != nil {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("Open: %v", err))
					mu.Unlock()
					return
				}
				defer s.Close()
				switch g % 3 {
				case 0:
					_, err = s.Add(ctx, fmt.Sprint("add", g), []byte("v"), time.Minute)
				case 1:
					_, _, err = s.Get(ctx, "absent")
				case 2:
					err = s.Set(ctx, fmt.Sprint("set", g), []byte("v"), time.Minute)
				}
				if err != nil {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("goroutine %d: %v", g, err))
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if len(failed) > 0 {
			t.Fatalf("round %d: %d first uses failed: %v", round, len(failed), failed)
		}
	}
}

// Environment of the children of TestFirstUseFromTwoProcesses.
const (
	envFreshDir = "SQLITE_FRESH_DIR"
	envFreshAt  = "SQLITE_FRESH_AT" // Unix ns at which to start
)

// TestFirstUseFromTwoProcesses: two processes open the same fresh files
// at the same moment through keyedcache.Open and Add at once; every Add
// answers, and exactly one of the two wins each key.
func TestFirstUseFromTwoProcesses(t *testing.T) {
	const files = 30
	if role, ok := testproc.Role(); ok {
		at, _ := strconv.ParseInt(os.Getenv(envFreshAt), 10, 64)
		time.Sleep(time.Until(time.Unix(0, at)))
		dir := os.Getenv(envFreshDir)
		for i := range files {
			u := "sqlite://" + filepath.Join(dir, fmt.Sprintf("fresh%d.db", i)) + "?query_timeout=5s"
			c, err := keyedcache.Open(u)
			if err != nil {
				t.Fatalf("%s: Open: %v", role, err)
			}
			won, err := c.Add(context.Background(), "lease", role)
			if err != nil {
				t.Fatalf("%s: file %d: first Add: %v", role, i, err)
			}
			fmt.Printf("WON %d %v\n", i, won)
			c.Close()
		}
		return
	}
	dir := t.TempDir()
	at := strconv.FormatInt(time.Now().Add(time.Second).UnixNano(), 10)
	a := testproc.Start(t, "a", envFreshDir+"="+dir, envFreshAt+"="+at)
	b := testproc.Start(t, "b", envFreshDir+"="+dir, envFreshAt+"="+at)
	a.Wait(t)
	b.Wait(t)
	for i := range files {
		wa := a.WaitFor(t, fmt.Sprintf("WON %d ", i), time.Second)
		wb := b.WaitFor(t, fmt.Sprintf("WON %d ", i), time.Second)
		if (wa == "true") == (wb == "true") {
			t.Errorf("file %d: process a won %s, b won %s; want exactly one", i, wa, wb)
		}
	}
}
