package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/sqldb"
	"keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

// TestConformance runs the shared suite on two Stores opened on one
// database file, standing for two processes. The query timeout is
// raised from its default because under -race SQLite (C translated to
// Go) runs many times slower, and the suite's 50 goroutines queue on
// the one write connection of each Store.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		path := filepath.Join(t.TempDir(), "cache.db")
		open := func() backend.Backend {
			s, err := sqlite.Open(path, sqldb.Options{QueryTimeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("sqlite.Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			// The table and a connection of each pool, so that the
			// suite's sub-second TTLs are not spent setting up.
			if err := s.CreateTable(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			return s
		}
		return open(), open()
	})
}
