package postgres_test

import (
	"context"
	"testing"
	"time"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/sqldb"
	"keyedcache.dev/keyedcache/backend/sqldb/postgres"
)

// TestPostgres runs the tests that need a server but do not stop it on
// one PostgreSQL, started once.
func TestPostgres(t *testing.T) {
	pg := testserver.Postgres(t)
	t.Run("Conformance", func(t *testing.T) { testConformance(t, pg) })
	t.Run("URL", func(t *testing.T) { testURL(t, pg) })
	t.Run("PasswordNeverShown", func(t *testing.T) { testPasswordNeverShown(t, pg) })
}

// testConformance runs the shared suite on two Stores on one table of a
// real PostgreSQL, standing for two processes; each case uses a table
// of its own. The query timeout is raised from its default so that
// -race on a busy machine does not exhaust it.
func testConformance(t *testing.T, pg *testserver.Server) {
	n := 0
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		n++
		o := postgres.Options{Options: sqldb.Options{Table: "conf_" + string(rune('a'+n/26)) + string(rune('a'+n%26)), QueryTimeout: 10 * time.Second}}
		open := func() backend.Backend {
			s, err := postgres.Open(pg.DSN, o)
			if err != nil {
				t.Fatalf("postgres.Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			warm(t, s)
			return s
		}
		return open(), open()
	})
}

// warm creates the table and opens a connection, so that the suite's
// sub-second TTLs are not spent dialing (PostgreSQL forks a process per
// connection, which takes long on a loaded machine).
func warm(t *testing.T, s *sqldb.Store) {
	t.Helper()
	if err := s.CreateTable(context.Background()); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
