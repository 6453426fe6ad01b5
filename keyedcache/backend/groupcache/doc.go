// Package groupcache is keyedcache's peer-to-peer backend, registered
// under the URL scheme groupcache://, built on github.com/golang/groupcache:
// the processes of a service are the cache, with no server to run.
//
//	groupcache://127.0.0.1:8001?peers=http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003
//
// The URL's host:port is this process's own address among the peers;
// every process lists the same peers. Each key has an owner, chosen by
// consistent hashing. Set, Add, Delete, Incr, Touch and CompareAndSwap go
// to the owner (over a small HTTP protocol of our own, next to
// groupcache's), which keeps the entry in memory with its deadline and
// decides atomically. Get goes through groupcache: from this process's
// copy, or from the peer groupcache picks, which asks the owner once and
// keeps a copy for every process that asks after it. Fill (the
// backend.Filler interface) is groupcache's own trick: of all the
// processes asking for a cold key at once, the one groupcache picks
// computes it, once, and the others wait for its answer.
//
// groupcache can neither delete nor expire a copy, so the groupcache key
// under which a value is read carries its generation and a time bucket,
// and forgetting means moving to a new groupcache key. A write changes the
// key's generation in every peer (after the owner has the new value);
// DeletePrefix and Clear first delete from every peer, then change the
// generation of the prefix or of the whole namespace. The time bucket
// (max_stale wide, one minute by default) bounds what a peer that missed
// a change can serve: nothing older than max_stale. The deadline of an
// entry travels with its copies, so a TTL holds exactly (to the clock
// skew between peers), sub-second ones included. Fill results live for
// ttl-wide time buckets instead: never served older than ttl.
//
// # One node per process
//
// groupcache allows one HTTP pool per process, so every Backend in a
// process runs on the process's one node, made by the first Open or New:
// later ones must agree on every parameter but namespace (each namespace
// is a separate cache that Clear clears on its own), or they fail with a
// *backend.ConfigError naming the parameter. The node lives until the
// process exits; Close closes one Backend value. By default the node
// listens on the URL's host:port itself; with listen=false, serve
// [Handler] at base_path (/_groupcache/) on your own server at that
// address instead. Anyone who reaches it can read and write the cache, as
// with groupcache itself: keep it on a private network.
//
// # What holds
//
//	operation            holds                                     how, and the bounds
//	Get                  yes                                       latest completed write; a peer that missed a change: ≤ max_stale old
//	Set, TTLs            yes, exact deadlines                      on the key's owner; read-your-writes and read-after-write across processes
//	Add                  yes, atomic across processes              the owner decides: of concurrent Adds anywhere, exactly one wins
//	Incr, CompareAndSwap yes, atomic across processes              on the owner; Incr keeps the deadline
//	Touch, TTL           yes                                       on the owner
//	Delete               yes                                       the owner deletes; every peer's copies are hidden
//	DeletePrefix, Clear  yes, when every peer answers              a peer that does not keeps its entries: the error names it
//	Get/Set/DeleteMany   yes                                       one request per owner
//	ScanKeys             yes; complete=false if a peer is silent   asks every peer
//	Fill                 once per key, per ttl bucket, per change  while the peer groupcache picks answers and has the name registered
//	Ping                 error naming the peers that are silent    the others keep working
//
// No operation returns backend.ErrNotSupported.
//
// # What does not hold
//
// Entries live in their owner's memory only, with no replica: when the
// owner is down, its keys miss (Get returns the error, the core counts a
// miss), writes to them fail, and a restarted owner starts empty. A write
// that timed out may still land. A peer that does not answer is skipped
// for a second, then tried again; requests to peers time out after
// peer_timeout, so nothing hangs. A Fill whose picked peer is down or
// slower than fill_timeout is computed by the asking process (once per
// process); a fill error is not recomputed by the asking processes. Every
// process must register the same fill names: one that is asked for a
// name it does not know answers "no such group" and the asker computes
// it itself. Fill results are not Get entries. The peer list is fixed per
// process; peers with different lists refuse each other (and log it), so
// change it by restarting every process, knowing that keys whose owner
// changes start empty.
package groupcache
