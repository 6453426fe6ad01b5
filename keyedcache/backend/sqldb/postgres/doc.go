// Package postgres is the keyedcache backend on PostgreSQL, through
// github.com/jackc/pgx/v5 behind database/sql: a cache that every process
// that reaches the database shares. It registers the URL schemes
// postgres and postgresql:
//
//	import _ "keyedcache.dev/keyedcache/backend/sqldb/postgres"
//
//	postgres://app:secret@db.internal:5432/app?sslmode=verify-full&table=cache&max_entries=100000
//
// keyedcache's parameters ([sqldb.Params], unlogged, and the core's
// timeout, key_prefix, version and codec) are taken out of the URL; the
// connection parameters listed by the driver (sslmode, connect_timeout,
// application_name, search_path, options, …) go to pgx, which reads
// them, and the PG* environment variables and ~/.pgpass, as libpq does.
// A password belongs in the URL's user info, PGPASSWORD or a passfile;
// it is never shown: errors and the staff page print the URL with the
// password replaced.
//
// # Why database/sql and not pgxpool
//
// pgxpool is pgx's own pool, a little faster per call (no database/sql
// layer: see bench/sql). This package uses database/sql, with pgx's
// stdlib driver, so that one implementation of every operation (package
// sqldb) serves both SQLite and PostgreSQL and is tested against both;
// pgx still speaks the binary protocol and prepares every statement
// once per connection. The measured cost is in bench/README.md.
//
// # The table
//
// The key is bytea, so that keys compare byte by byte whatever the
// database's collation (a prefix is one range of the primary key) and
// any key can be stored. The table is UNLOGGED unless unlogged=false:
// its writes skip the write-ahead log, so they cost less and a commit
// does not wait for the disk, but a crash of the server empties it and
// standbys do not have it — a trade a cache can make. Creating it takes
// an advisory lock, so that processes that start together do not trip
// over each other.
//
// Expiry times are written by the clients' clocks: machines that share
// a cache should keep their clocks synchronised (NTP); a skew of d moves
// expiry by d.
package postgres
