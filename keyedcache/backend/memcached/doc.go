// Package memcached is a keyedcache backend on one or more memcached
// servers, registered under the URL scheme memcached://.
//
//	import _ "keyedcache.dev/keyedcache/backend/memcached"
//
//	memcached://cache1:11211,cache2:11211?net_timeout=100ms
//	memcached:///run/memcached/memcached.sock
//
// It speaks memcached's text protocol through github.com/bradfitz/gomemcache,
// and sends the few commands that client lacks (meta get for TTLs, stats,
// the LRU crawler's metadump) over connections of its own.
//
// Keys are spread over the servers by consistent hashing
// (github.com/golang/groupcache/consistenthash, 160 points per server),
// so that a fourth server added to three takes about a quarter of the
// keys and the other three quarters stay where they were; with
// gomemcache's default modulo hashing three quarters would move. A server
// that times out or refuses a connection is skipped for down_retry (1s):
// its keys miss at once instead of each waiting for the network, and
// then one call probes it. Its keys are not moved to the other servers,
// so that processes that disagree about which servers are up never read
// different copies of a key.
//
// A key the server would reject — longer than 250 bytes, or holding a
// space, a control character or DEL — is stored under a mapped key: the
// key with those bytes replaced by '_', cut to fit, then "%m" and a hash
// of the whole key. The core never builds such keys (it escapes and
// shortens its own); the mapping is for raw callers and for the
// namespace, which can push a long key over the limit.
//
// memcached keeps time in whole seconds and its clock ticks once a
// second, so a ttl is rounded up to whole seconds and one second is added
// (an entry set with "expire in n seconds" lives between n-1 and n):
// entries live at least their ttl and at most two seconds more. A ttl of
// more than 30 days is sent as an absolute Unix time, as the protocol
// requires, which assumes that the servers' clocks agree with this
// machine's. TTL reports the time an entry is sure to live, never more
// than the ttl it was written with; for an entry with an absolute
// expiry it reads the server's clock around the entry, since that clock
// runs up to a second or more late (its tick is once a second, and late
// on a busy machine), and Incr writes that same expiry back.
//
// Optional powers: Multi (GetMany is one multi-get per server, the
// servers in parallel; SetMany and DeleteMany are loops), Toucher,
// CompareAndSwapper (gets and cas), Incrementer, TTLReader, KeyLister
// (the LRU crawler's metadump; see ScanKeys for when a listing is
// incomplete), Statser (stats) and Pinger (version on every server).
// Incr, TTL and the listing need memcached 1.6 or later (meta commands).
// memcached's own incr and decr work on unsigned 64-bit numbers (decr
// stops at zero, incr wraps), which cannot meet the contract's signed
// increments with overflow detection, so Incr is a compare-and-swap loop
// over meta get and meta set that keeps the entry's remaining seconds.
//
// The backend does not implement PrefixDeleter: memcached cannot find
// keys by prefix, so the core's namespace generations provide
// delete-with-children and Clear of an alias with a key_prefix (random
// tokens of the prefixes that have children, stored on the servers,
// which memcached may evict without bringing old entries back). An
// entry is stored under its own key, stamped with the tokens of its
// parents; GetWith, SetWith, DeleteWith and IncrWith send the read of
// those tokens in the same round trip as the operation on the key (a
// get command pipelined with it on the key's server; the other servers
// are read at the same time), so a core Get, Set or Delete is one round
// trip, and DeleteChildren two (the new token, then the key's own
// entry).
//
// Clear of the backend itself (an alias with no key_prefix) deletes the
// keys under the namespace URL parameter, found through metadump; with no
// namespace it refuses with an error rather than empty servers that
// other programs may share. It never sends flush_all.
//
// A value larger than the server's item size limit (memcached -I, 1 MiB
// by default, counting the key and about 50 bytes of header) is not
// stored: the write fails, and the core drops it and counts the failure.
// Start memcached with a larger -I for larger values.
//
// gomemcache takes no context. Every network step is bounded by
// net_timeout (250ms); a context whose deadline comes sooner makes the
// call return when the context ends (the call finishes in the
// background), and a cancelled context is seen before a call starts.
package memcached
