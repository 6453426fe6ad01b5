// Package file is a keyedcache backend that keeps one file per entry in
// a directory, so that every process on a machine that can reach the
// directory shares one cache that survives restarts.
//
// A key is stored in a file named by the hex SHA-256 of the key, inside
// one of 256 fan-out subdirectories (the hash's first byte), so that no
// directory holds more than a few hundred files. The file starts with a
// small header — a format version, the expiry in Unix nanoseconds (0 =
// never), the lengths of key and value and a CRC-32C of the rest — then
// the key and the value. Every write goes to a temporary file in the
// same subdirectory and is renamed into place, so a reader sees the old
// entry or the new one, never half of either, and a process that dies
// mid-write leaves at most a temporary file that nothing reads. A file
// that fails to parse is a miss, and is removed.
//
// Writers of one key exclude each other with an advisory lock (flock(2)
// on one of 64 lock files chosen by the key's hash, together with an
// in-process semaphore), so Add, Incr, Touch and CompareAndSwap are
// atomic across goroutines and across processes that share the
// directory. Set and Delete hold the lock too, but only for their rename
// or unlink, so that they are never lost inside another writer's
// read-modify-write. Reads take no lock.
//
// Two bounds are kept by culling: max_entries (always) and max_bytes
// (when set), the sum of the entry files' sizes on disk, each counted as
// header + key + value (fan-out directories, lock files, temporary
// files and file system block rounding are not counted). When a write
// would take the directory past either, it culls first: expired and
// unreadable entries go first, then those closest to expiry, then the
// oldest written, until 1/cull_frequency of the entries (or, for
// max_bytes, of the bytes) are gone and the new entry fits. A Store
// knows the count and the bytes exactly after each scan (when it opens
// and at each cull) and then keeps them by its own writes and deletes,
// so a lone Store holds both bounds exactly as long as its writes do not
// overlap (writes in flight together may each find room for itself
// alone). With several Stores or processes writing, each sees the
// others' entries only at its next scan, so until then the directory
// may hold more: by what the other writers added since that Store's
// last scan, typically about one cull's worth each, and at most one
// bound's worth each (a Store never adds past its own estimate of the
// bound without scanning). A value whose entry
// alone is larger than max_bytes is never stored: Set, CompareAndSwap
// and Incr remove the key's entry instead and succeed, as if it had been
// stored and evicted at once; Add stores nothing and returns false.
//
// Keys are listed in two ways. ScanKeys and DeletePrefix walk a prefix
// tree kept beside the entries: under tree/ one directory per run of
// leading "::"-separated segments that some key continues, holding an
// empty marker file per key (see tree.go for the layout and for the
// invariant that every entry has its marker, across processes and
// crashes). A prefix ending in "::", which is what keyedcache's
// DeleteChildren passes, costs O(keys under it), however many entries
// the directory holds; other prefixes cost O(keys under their leading
// segments). Every write pays one more open(2), which creates the
// marker the first time a key is written and fails at once afterwards;
// a delete one more unlink. BackendStats reads the header of every entry file:
// O(entries). ScanKeysAfter lists in byte
// order from a cursor, which is how the staff page reads a page of
// keys, through a listing index the Store builds on its first call:
// for each fan-out directory, its keys in order and what a stat of it
// showed. The first call reads every header once; later calls stat the
// fan-out directories, read again only those that changed (the names,
// and headers only for new names) and check each key they hand out
// against its file, so a page of 50 keys out of a million costs about
// what it costs out of ten thousand: about 1 ms, 50 header reads and
// 256 stats. The first call costs about 5 s per million
// entries, and the index takes 100 to 150 bytes per entry with short
// keys, for the life of the Store; a Store that never calls
// ScanKeysAfter has none, and nothing else reads or updates it. While
// writers touch every fan-out directory between two calls, each call
// reads every name again (not the headers): about 0.5 s per million
// entries. See Store.ScanKeysAfter.
//
// Register the backend by importing the package for its side effect and
// open it by URL:
//
//	import _ "keyedcache.dev/keyedcache/backend/file"
//
//	file:///var/tmp/app-cache?max_entries=1000&max_bytes=64MiB&cull_frequency=3
//
// or call [New] directly. Cross-process atomicity relies on flock(2) and
// so on Linux, the BSDs and macOS; elsewhere the package builds but locks
// only within one process. Locks are advisory and local: a directory on
// a network file system that does not honour flock is not safe for
// concurrent writers on different machines. Remove the directory only
// when no Store uses it: a Store that keeps a deleted lock file open no
// longer excludes one that opens its replacement.
package file
