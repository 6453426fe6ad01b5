// Package sqlite is the keyedcache backend on a SQLite database file,
// through the pure-Go driver modernc.org/sqlite (no cgo): a cache that
// every process on the machine shares and that survives restarts. It
// registers the URL scheme sqlite:
//
//	import _ "keyedcache.dev/keyedcache/backend/sqldb/sqlite"
//
//	sqlite:///var/cache/app/cache.db?max_entries=100000   (absolute: three slashes)
//	sqlite://cache.db                                     (relative to the working directory)
//	sqlite://var/cache.db                                 (relative: var/cache.db)
//
// A relative path is made absolute when the cache is opened. The file
// is created if it is absent; its directory must exist. The parameters
// are those of [sqldb.Params]; the table and every call are described in
// package sqldb.
//
// Several processes share one file safely: every connection runs in WAL
// mode, where readers never wait for the writer, with synchronous=NORMAL
// (a commit does not wait for the disk; a machine crash may lose the
// last writes but never corrupts the file) and a busy timeout equal to
// the query timeout, so that a writer waits for another process's write
// lock instead of failing. Within a process, reads use a pool of
// max_conns connections and writes one connection, so that the writers
// of a process queue in Go rather than in SQLite's busy handler, and
// transactions begin IMMEDIATE. WAL needs shared memory between the
// processes: keep the file on a local file system, not on NFS.
package sqlite
