package redis

import (
	"context"
	"strconv"

	"github.com/redis/rueidis"
)

// The index. Every write files its key in its shard's index, a sorted set
// whose members all score 0 so that Redis orders them by their bytes: the
// keys that start with a prefix are then one ZRANGEBYLEX range, found in
// O(log N) and walked in O(keys under the prefix). The write and its
// index entry are one MULTI/EXEC transaction, and the scripts that delete
// or unfile keys run atomically, so the index never lacks a live key.
// Entries of keys that expired or were evicted stay until a sweep finds
// them. Only a new index entry can become such garbage, and ZADD says
// whether it filed a new one, so the sweeps keep pace with new entries,
// not with writes: after every sweepEvery-th new entry, a process sweeps
// the next sweepBatch members of that entry's shard, unfiling those whose
// key is gone. Two members checked per new entry bound the index to about
// twice the live keys even when every write is a new key that soon
// expires; a cache that rewrites the same keys files nothing new and
// sweeps nothing. A sweep is one Lua script (its fixed cost, and the cost
// of each call from Lua, are several SETs' worth, hence the batches),
// run beside the writes so that it adds nothing to their latency.

const (
	sweepEvery  = 128  // new index entries per sweep
	sweepBatch  = 256  // index members a sweep checks
	rangeBatch  = 1000 // members one DeletePrefix or ScanKeys script takes
	rangeBatchS = "1000"
)

var sweepBatchS = strconv.Itoa(sweepBatch)

// filed counts n new index entries, the last of them key's, and on every
// sweepEvery-th starts a sweep of key's shard unless one is running.
func (s *Store) filed(c rueidis.Client, key string, n int64) {
	if n <= 0 {
		return
	}
	if now := s.filings.Add(uint64(n)); now/sweepEvery == (now-uint64(n))/sweepEvery {
		return
	}
	sh := s.shardOf(key)
	if sh.sweeping.CompareAndSwap(false, true) {
		go s.sweep(c, sh)
	}
}

// sweep runs one sweep of sh and records where the next one starts. A
// sweep that fails is only housekeeping: the next one tries again.
func (s *Store) sweep(c rueidis.Client, sh *shard) {
	defer sh.sweeping.Store(false)
	sh.mu.Lock()
	from := sh.sweep
	sh.mu.Unlock()
	next, err := sweepScript.exec(context.Background(), c, []string{sh.index}, []string{from, sweepBatchS, sh.tag}).ToString()
	if err == nil {
		sh.mu.Lock()
		sh.sweep = next
		sh.mu.Unlock()
	}
}

// DeletePrefix removes every key that starts with prefix and returns how
// many existed. It reads only the index range of the prefix: its cost is
// O(log N + M) on the server for M keys under the prefix, in one script
// per 1000 keys (per shard in cluster mode, where the 256 shards are
// visited in one pipelined round trip per node), not a scan of the
// keyspace. Keys written while it runs may stay.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	return s.deleteRange(ctx, "delete prefix", prefix)
}

// deleteRange deletes the keys filed under prefix in every shard, in
// rounds of one script per shard that still has some.
func (s *Store) deleteRange(ctx context.Context, op, prefix string) (int, error) {
	min, max := lexRange(prefix)
	active := s.shards
	deleted := 0
	for len(active) > 0 {
		n, more, err := s.deleteRound(ctx, op, min, max, active)
		deleted += n
		if err != nil {
			return deleted, err
		}
		active = more
	}
	return deleted, nil
}

// deleteRound runs one deleteRangeScript on each of shards and returns
// how many keys it deleted and the shards that have more.
func (s *Store) deleteRound(ctx context.Context, op, min, max string, shards []*shard) (deleted int, more []*shard, err error) {
	c, cl, err := s.begin(ctx, op)
	if err != nil {
		return 0, nil, err
	}
	defer cl.end(&err)
	execs := make([]rueidis.LuaExec, len(shards))
	for i, sh := range shards {
		execs[i] = rueidis.LuaExec{Keys: []string{sh.index}, Args: []string{min, max, rangeBatchS, sh.tag}}
	}
	for i, r := range deleteRangeScript.execMulti(cl.ctx, c, execs) {
		out, err := r.AsIntSlice()
		if err == nil && len(out) != 2 {
			err = errShape
		}
		if err != nil {
			return deleted, nil, err
		}
		deleted += int(out[0])
		if out[1] >= rangeBatch {
			more = append(more, shards[i])
		}
	}
	return deleted, more, nil
}

// ScanKeys calls fn with every live key that starts with prefix, until fn
// returns false: in byte order on one server, in no particular order in
// cluster mode (ScanKeysAfter lists in order in both). The listing is
// complete — it reads the index, not a sample — at the cost DeletePrefix
// documents, plus an EXISTS per key to skip entries whose key has
// expired. A key written or deleted while it runs may be listed or not.
func (s *Store) ScanKeys(ctx context.Context, prefix string, fn func(key string) bool) (bool, error) {
	min, max := lexRange(prefix)
	active := make([]scanCursor, len(s.shards))
	for i, sh := range s.shards {
		active[i] = scanCursor{sh, min}
	}
	for len(active) > 0 {
		live, more, err := s.scanRound(ctx, max, active)
		if err != nil {
			return false, err
		}
		for _, k := range live {
			if !fn(k) {
				return true, nil
			}
		}
		active = more
	}
	return true, nil
}

// A scanCursor is where the listing of a shard's index goes on from.
type scanCursor struct {
	sh   *shard
	from string
}

// scanRound runs one scanRangeScript on each cursor and returns the live
// keys it found and the cursors of the shards that have more.
func (s *Store) scanRound(ctx context.Context, max string, cursors []scanCursor) (live []string, more []scanCursor, err error) {
	c, cl, err := s.begin(ctx, "scan keys")
	if err != nil {
		return nil, nil, err
	}
	defer cl.end(&err)
	execs := make([]rueidis.LuaExec, len(cursors))
	for i, a := range cursors {
		execs[i] = rueidis.LuaExec{Keys: []string{a.sh.index}, Args: []string{a.from, max, rangeBatchS, a.sh.tag}}
	}
	for i, r := range scanRangeScript.execMulti(cl.ctx, c, execs) {
		out, err := r.ToArray()
		if err == nil && len(out) != 3 {
			err = errShape
		}
		if err != nil {
			return nil, nil, err
		}
		keys, err := out[0].AsStrSlice()
		if err != nil {
			return nil, nil, err
		}
		live = append(live, keys...)
		if visited, _ := out[2].AsInt64(); visited >= rangeBatch {
			last, _ := out[1].ToString()
			more = append(more, scanCursor{cursors[i].sh, "(" + last})
		}
	}
	return live, more, nil
}
