package sqldb_test

import (
	"fmt"
	"testing"
	"time"

	"keyedcache.dev/keyedcache/backend/sqldb"
)

func testReap(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{ReapInterval: time.Hour}))
	for i := range 5 {
		mustSet(t, s, fmt.Sprint("short::", i), []byte("x"), 50*time.Millisecond)
	}
	for i := range 3 {
		mustSet(t, s, fmt.Sprint("long::", i), []byte("x"), time.Hour)
	}
	time.Sleep(100 * time.Millisecond)
	if got := rows(t, s); got != 8 {
		t.Fatalf("%d rows before reaping, want 8 (expired rows stay until reaped)", got)
	}
	if present(t, s, "short::0") {
		t.Fatal("an expired row was read")
	}
	n, err := s.Reap(ctxFor(t))
	if err != nil || n != 5 {
		t.Fatalf("Reap = %d, %v; want 5", n, err)
	}
	if got := rows(t, s); got != 3 {
		t.Fatalf("%d rows after reaping, want 3", got)
	}
	st, err := s.BackendStats(ctxFor(t))
	if err != nil || st["reaped"] != "5" || st["entries"] != "3" || st["expired_rows"] != "0" {
		t.Fatalf("BackendStats = %v, %v; want reaped 5, entries 3, expired_rows 0", st, err)
	}
}

func testReapInBackground(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{ReapInterval: 200 * time.Millisecond}))
	for i := range 4 {
		mustSet(t, s, fmt.Sprint("short::", i), []byte("x"), 50*time.Millisecond)
	}
	time.Sleep(250 * time.Millisecond) // past the TTLs and the reap interval
	mustSet(t, s, "long", []byte("x"), time.Hour)
	deadline := time.Now().Add(20 * time.Second)
	for rows(t, s) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d rows 20s after a write started a reap; want only the live one", rows(t, s))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !present(t, s, "long") {
		t.Fatal("the reap removed a live row")
	}
}

func testCull(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{MaxEntries: 10, CullFrequency: 3}))
	mustSet(t, s, "forever::a", []byte("x"), 0)
	for i := range 9 {
		mustSet(t, s, fmt.Sprint("k::", i), []byte("x"), time.Duration(i+1)*time.Minute)
	}
	if got := rows(t, s); got != 10 {
		t.Fatalf("%d rows, want 10: the table is not full yet", got)
	}
	// The 11th row: a third of the 10 go, those closest to expiry.
	mustSet(t, s, "new", []byte("x"), time.Hour)
	if got := rows(t, s); got != 8 {
		t.Fatalf("%d rows after a write past max_entries=10 with cull_frequency=3, want 10 - 10/3 + 1 = 8", got)
	}
	for i := range 9 {
		if want := i >= 3; present(t, s, fmt.Sprint("k::", i)) != want {
			t.Errorf("k::%d (expiring in %d min) present = %v, want %v", i, i+1, !want, want)
		}
	}
	if !present(t, s, "forever::a") || !present(t, s, "new") {
		t.Error("a cull removed the row that never expires, or the row being written")
	}
	st, err := s.BackendStats(ctxFor(t))
	if err != nil || st["culls"] != "1" || st["culled"] != "3" {
		t.Fatalf("BackendStats = %v, %v; want culls 1, culled 3", st, err)
	}
}

func testCullExpiredFirst(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{MaxEntries: 10, CullFrequency: 2, ReapInterval: time.Hour}))
	for i := range 3 {
		mustSet(t, s, fmt.Sprint("short::", i), []byte("x"), 50*time.Millisecond)
	}
	for i := range 7 {
		mustSet(t, s, fmt.Sprint("long::", i), []byte("x"), time.Hour)
	}
	time.Sleep(100 * time.Millisecond)
	mustSet(t, s, "new", []byte("x"), time.Hour)
	if got := rows(t, s); got != 8 {
		t.Fatalf("%d rows, want 8: the 3 expired rows make room, no live row is culled", got)
	}
	for i := range 7 {
		if !present(t, s, fmt.Sprint("long::", i)) {
			t.Errorf("live row long::%d was culled while expired rows could go", i)
		}
	}
}

func testCullClear(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{MaxEntries: 5, CullFrequency: sqldb.ClearWhenFull}))
	for i := range 5 {
		mustSet(t, s, fmt.Sprint("k::", i), []byte("x"), time.Hour)
	}
	mustSet(t, s, "new", []byte("x"), time.Hour)
	if got := rows(t, s); got != 1 || !present(t, s, "new") {
		t.Fatalf("%d rows after a write to a full table with cull_frequency=0; want only the new one", got)
	}
}
