// Package sqldb keeps a keyedcache backend in one table of a SQL
// database, shared by every process that reaches the database, as
// Django's database cache does. It is the logic the SQL backends share;
// the engines are its subpackages, which register the URL schemes:
//
//	import _ "keyedcache.dev/keyedcache/backend/sqldb/sqlite"   // sqlite://
//	import _ "keyedcache.dev/keyedcache/backend/sqldb/postgres" // postgres://, postgresql://
//
// so that a program that uses SQLite does not link a PostgreSQL driver,
// and the other way round.
//
// # The table
//
// One row per entry: key (the primary key), value (BLOB or bytea, so any
// bytes are kept as they are) and expires (Unix nanoseconds by the
// writer's clock; the largest int64 for an entry that never expires),
// with an index on expires. The key column compares bytes (SQLite's
// BINARY collation; a bytea key in PostgreSQL, whatever the database's
// collation), so that the keys that start with a prefix are one range
// of the primary key: key >= prefix AND key < the prefix with its last
// byte raised. The table is created, if it is absent, by the first call
// that finds it missing, or at deployment by [CreateTable] or
// [Store.CreateTable] (Django's createcachetable); the sqlite package
// creates it when it opens the file, so that the first calls on a fresh
// file do not race to set it up.
//
// # Calls
//
// Every call is one statement, on statements prepared once per
// connection: Get is a SELECT of the primary key with expires > now, so
// an expired row is never read; Set is an INSERT … ON CONFLICT DO UPDATE;
// Add is the same with DO UPDATE … WHERE the row has expired, so that of
// many processes adding one key exactly one wins; Delete, DeleteMany and
// DeletePrefix are DELETE … RETURNING expires (to tell live rows from
// expired ones); Touch and CompareAndSwap are one UPDATE each; DeletePrefix
// deletes one range of the primary key, at O(log n + rows deleted), so
// the core uses it for delete-with-children instead of namespace
// generations; ScanKeys reads the range in key order, 1000 keys per
// query. Incr reads, then swaps the value only if it is unchanged, and
// falls back to a transaction that locks the row when another writer
// came between.
//
// # Bounds
//
// No call takes much longer than the query timeout (Options.QueryTimeout,
// 500ms unless set), or the caller's deadline if it is sooner, so that a
// stopped or unreachable server never hangs a caller; a connection that
// fails is dropped, and the next call dials again. A call first takes a
// slot of its pool (one slot per connection, so that database/sql always
// has a connection for it), waiting for one at most the query timeout;
// its statements are bounded by the engines themselves — SQLite's by its
// busy timeout, PostgreSQL's by a deadline on every read and write of a
// connection's socket and a connect timeout. So a healthy call needs no
// context deadline: a cancellable context costs database/sql and the
// drivers a goroutine or two per query, which on loopback is as much as
// a SQLite read and a third of a PostgreSQL one (see Dialect.SelfBounded
// and bench/sql). A call gets the deadline — which holds the whole call,
// slot wait included, to one timeout — when the caller's context can be
// cancelled anyway, when it waited for its slot longer than a tenth of
// the timeout, and for ten timeouts after any error: on a failing
// server database/sql may take two steps for one call (the statement on
// an old connection, then dialing a new one). A call without it takes at
// most about 1.1 timeouts per step.
//
// # Expiry, reaping and culling
//
// Expired rows are invisible to every call at once. Their space is
// given back lazily: a write that finds the last reap older than
// Options.ReapInterval (one minute unless set) starts one in the
// background, which deletes expired rows through the index on expires
// in batches of 1000, at O(log n) per row, so that no statement holds a
// lock for long; [Store.Reap] does it on demand. A table with no writes
// is not reaped, and needs not be: nothing reads its expired rows.
//
// Past Options.MaxEntries a write culls before it writes, as Django does:
// expired rows first, then 1/CullFrequency of the rows, those closest to
// expiry first (those that never expire last), or every row when
// cull_frequency=0. Counting the rows is O(n) — in PostgreSQL O(n plus
// the dead row versions that updates leave until VACUUM) — so a Store
// counts once every max(1, MaxEntries/10) of its own writes (at most
// every 10000): about 10 rows visited per write; between counts, and
// with several processes writing, the table may hold up to 10% more
// rows per writing process.
package sqldb
