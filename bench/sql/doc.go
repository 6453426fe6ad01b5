// Package sql measures keyedcache's SQL backends, sqlite:// and
// postgres://, against raw queries: CacheGet and CacheSet through
// keyedcache, the same through the sqldb.Store alone (the backend without
// the codec and key handling), and the same statement run raw through
// database/sql — the driver and pool settings the backend uses — with
// the caller's context as it is and with a 500ms deadline on every call
// (what the backend gives its calls, but SQLite reads), and, for
// PostgreSQL, through pgxpool, the driver's own pool that the backend
// chose not to use. Each runs at 1, 8 and 64 goroutines, on a SQLite
// file in a temporary directory and on a loopback PostgreSQL that the
// benchmark starts itself (internal/testserver).
//
// The package has no non-test code; run it from bench/ with
//
//	go test -run '^$' -bench . -benchtime 2000x ./sql/
//
// Sub-benchmarks are named .../impl=NAME so that "benchstat -col /impl"
// lays the contenders side by side.
package sql
