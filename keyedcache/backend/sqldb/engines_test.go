package sqldb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend/sqldb"
	"keyedcache.dev/keyedcache/backend/sqldb/postgres"
	"keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

// An engine is one real database the tests run on: a SQLite file in a
// temporary directory, or a PostgreSQL server started for the test.
type engine struct {
	name string
	// open opens a Store on the engine's database with o.
	open func(t *testing.T, o sqldb.Options) *sqldb.Store
	// url is a cache URL for table on the engine's database.
	url func(table string) string
	// exists reports whether the table or index name exists.
	exists func(t *testing.T, s *sqldb.Store, name string) bool
}

var tableSeq atomic.Int64

// newTable returns a table name no other test uses.
func newTable() string { return fmt.Sprintf("t%d", tableSeq.Add(1)) }

func sqliteEngine(t *testing.T) engine {
	path := filepath.Join(t.TempDir(), "cache.db")
	return engine{
		name: "sqlite",
		open: func(t *testing.T, o sqldb.Options) *sqldb.Store {
			s, err := sqlite.Open(path, o)
			if err != nil {
				t.Fatalf("sqlite.Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		url: func(table string) string { return "sqlite://" + path + "?table=" + table },
		exists: func(t *testing.T, s *sqldb.Store, name string) bool {
			read, _ := s.DB()
			var n int
			if err := read.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = ?", name).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		},
	}
}

func postgresEngine(t *testing.T) engine {
	pg := testserver.Postgres(t)
	return engine{
		name: "postgres",
		open: func(t *testing.T, o sqldb.Options) *sqldb.Store {
			s, err := postgres.Open(pg.DSN, postgres.Options{Options: o})
			if err != nil {
				t.Fatalf("postgres.Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		url: func(table string) string { return pg.DSN + "&table=" + table },
		exists: func(t *testing.T, s *sqldb.Store, name string) bool {
			read, _ := s.DB()
			var ok bool
			if err := read.QueryRow("SELECT to_regclass($1) IS NOT NULL", sqldb.QuoteIdent(name)).Scan(&ok); err != nil {
				t.Fatal(err)
			}
			return ok
		},
	}
}

// TestEngines runs the tests of the shared logic on each engine.
func TestEngines(t *testing.T) {
	for _, mk := range []func(*testing.T) engine{sqliteEngine, postgresEngine} {
		e := mk(t)
		t.Run(e.name, func(t *testing.T) {
			t.Run("CreateTable", func(t *testing.T) { testCreateTable(t, e) })
			t.Run("CreatedOnFirstUse", func(t *testing.T) { testCreatedOnFirstUse(t, e) })
			t.Run("TableDropped", func(t *testing.T) { testTableDropped(t, e) })
			t.Run("Reap", func(t *testing.T) { testReap(t, e) })
			t.Run("ReapInBackground", func(t *testing.T) { testReapInBackground(t, e) })
			t.Run("Cull", func(t *testing.T) { testCull(t, e) })
			t.Run("CullExpiredFirst", func(t *testing.T) { testCullExpiredFirst(t, e) })
			t.Run("CullClearWhenFull", func(t *testing.T) { testCullClear(t, e) })
			t.Run("BinaryValues", func(t *testing.T) { testBinaryValues(t, e) })
			t.Run("BinaryKeys", func(t *testing.T) { testBinaryKeys(t, e) })
			t.Run("ScanKeysOrdered", func(t *testing.T) { testScanKeys(t, e) })
			t.Run("Stats", func(t *testing.T) { testStats(t, e) })
			t.Run("IncrContended", func(t *testing.T) { testIncrContended(t, e) })
			t.Run("Closed", func(t *testing.T) { testClosed(t, e) })
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// opts returns Options for a table of its own, with a query timeout
// that -race on a busy machine does not exhaust.
func opts(o sqldb.Options) sqldb.Options {
	o.Table = newTable()
	if o.QueryTimeout == 0 {
		o.QueryTimeout = 10 * time.Second
	}
	return o
}

// rows counts every row of the Store's table, expired or not.
func rows(t *testing.T, s *sqldb.Store) int {
	t.Helper()
	read, _ := s.DB()
	var n int
	if err := read.QueryRow("SELECT COUNT(*) FROM " + sqldb.QuoteIdent(s.Table())).Scan(&n); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return n
}

func mustSet(t *testing.T, s *sqldb.Store, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Set(ctxFor(t), key, v, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func present(t *testing.T, s *sqldb.Store, key string) bool {
	t.Helper()
	_, found, err := s.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return found
}
