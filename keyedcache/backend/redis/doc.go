// Package redis is a keyedcache backend on Redis: one server, reached by
// TCP, TLS or a unix socket, or a Redis Cluster. Import it for its side
// effect and open it by URL:
//
//	import _ "keyedcache.dev/keyedcache/backend/redis"
//
//	redis://[user:password@]host[:port][/db]         one server (port 6379, database 0 by default)
//	rediss://[user:password@]host[:port][/db]        the same over TLS
//	unix://[user:password@]/path/to/redis.sock?db=2  the same over a unix socket
//	redis-cluster://[user:password@]host:port,...    Redis Cluster, from one or more seed nodes
//	rediss-cluster://[user:password@]host:port,...   Redis Cluster over TLS
//
// Every scheme reads pool_size, dial_timeout and read_timeout; the
// non-cluster ones read db; the TLS ones read tls_ca_file, tls_cert_file,
// tls_key_file, tls_server_name and tls_insecure_skip_verify (see
// [Options] for what each means, and the core's own parameters —
// timeout, key_prefix, version, codec — apply as on every scheme). A
// password is never shown: errors and the cache's URL carry "xxxxx". Or
// build a [Store] with [New] and wrap it with keyedcache.New.
//
// The client is github.com/redis/rueidis, chosen by measurement against
// github.com/redis/go-redis/v9 (bench/redis and bench/README.md): its
// automatic pipelining carries the calls of many goroutines on a few
// connections, for about twice go-redis's throughput at 64 goroutines.
//
// # Layout and costs
//
// A value is stored under its key as a Redis string with a TTL in
// milliseconds (PX, rounded up). A read is one GET: exactly what a
// program using the client by hand would send.
//
// Every write also files its key in an index, a sorted set named
// "%kc:index" whose members all score 0, so that Redis keeps them in byte
// order and the keys under a prefix are one ZRANGEBYLEX range. The write
// and its index entry are one MULTI/EXEC transaction (MULTI, SET, ZADD,
// EXEC in one round trip), so the index never lacks a live key. The index
// lets [Store.DeletePrefix], which the core uses for delete-with-children,
// delete the M keys under a prefix in O(log N + M) server time, without
// scanning the keyspace, and without the extra lookups on every read that
// the core's namespace generations would cost. The price is on writes: a
// ZADD (O(log N)) in the same round trip, and a ZREM in a Delete's. The
// index costs one sorted-set entry of server memory per key: about 130
// bytes for a 27-byte key, the key again and some 100 bytes (measured in
// bench/redis).
//
// [Store.Clear] deletes exactly the keys in the index — those written
// through this backend on this database or cluster, by any process — and
// nothing else, never a whole database: other programs sharing the server
// keep their keys.
//
// The index also lists the keys in byte order from a cursor
// ([Store.ScanKeysAfter]), which is how the core's ListKeys, and so the
// staff page, reads a page of keys: a page of 50 is one script that finds
// the cursor in the index in O(log N), reads the next 64 members and
// checks that each key still exists. It is one round trip, about 0.1ms
// whether the store holds ten keys or a million, where a pass over every
// key, which a listing in no order needs for each page, takes over a
// second for a million (BenchmarkScanKeysAfter).
//
// Entries of keys that expired or were evicted stay in the index until a
// sweep finds them. Since only a new entry can become such garbage, the
// sweeps keep pace with new entries: after every 128 new entries a
// process checks the next 256 members of the index and unfiles those
// whose key is gone, which bounds the index to about twice the live keys
// even if every write is a new key that soon expires. A cache that keeps
// rewriting the same keys files nothing new and sweeps nothing.
//
// The index is an ordinary key, which Redis evicts under memory pressure
// only as its maxmemory-policy allows: never under noeviction (Redis's
// default) or a volatile-* policy, since the index has no TTL. Under an
// allkeys-* policy Redis may evict it like any other key; keys written
// before that are then missed by delete-with-children and Clear, and live
// until their TTL. The store logs a warning through log/slog when it finds
// such a policy on first connecting.
//
// # Cluster
//
// In cluster mode the keys are spread over 256 shards. Each shard has a
// hash tag ("{…}", placed on evenly spaced slots of the 16384) that
// prefixes its keys and its own index, so that a write and its index
// entry are one transaction on one node. Many-key reads are one MGET per
// shard, and a prefix delete is one script per shard, all pipelined. A
// listing in order merges the shards' indexes: a page of 50 keys is one
// script per shard, reading 4 members each, in one pipelined round trip
// per node — 1 to 3ms on three local nodes, however many keys there are
// — and now and then one more script on a shard whose keys ran out.
//
// # Failure
//
// A store opens without its server: it connects in the background, calls
// fail (and the core computes) until the server answers, and from then on
// the client reconnects by itself after a restart. Calls are never
// retried: a failed call is a miss at once. A hung server fails the calls
// waiting on it after about read_timeout (500ms by default), through a
// deadline on the connection rather than a timer per call; after three
// such timeouts in a row, calls fail at once with [ErrNotAnswering] for a
// second, after which one call checks whether the server answers again.
// A context deadline ends a call sooner.
package redis
