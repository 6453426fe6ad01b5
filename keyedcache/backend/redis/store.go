package redis

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"keyedcache.dev/keyedcache/backend"
)

// A Store is a keyedcache backend on a Redis server or cluster. It is
// safe for concurrent use.
type Store struct {
	conn    connection
	cluster bool
	shards  []*shard
	brk     breaker
	filings atomic.Uint64 // new index entries, to sweep the index every sweepEvery
}

// Every backend.Backend capability a Store has.
var (
	_ backend.Backend           = (*Store)(nil)
	_ backend.Multi             = (*Store)(nil)
	_ backend.PrefixDeleter     = (*Store)(nil)
	_ backend.Toucher           = (*Store)(nil)
	_ backend.Incrementer       = (*Store)(nil)
	_ backend.CompareAndSwapper = (*Store)(nil)
	_ backend.KeyLister         = (*Store)(nil)
	_ backend.SortedKeyLister   = (*Store)(nil)
	_ backend.TTLReader         = (*Store)(nil)
	_ backend.Statser           = (*Store)(nil)
	_ backend.Pinger            = (*Store)(nil)
)

// New returns a Store for opts. It starts connecting in the background
// and returns at once, so that a program starts while its Redis is down.
// A call made while that first connection is being made waits for it (at
// most DialTimeout, or until its context ends); a call made after it
// failed fails at once, and the first call a quarter of a second later
// tries again. Once connected, the client reconnects by itself.
func New(opts Options) (*Store, error) {
	copt, err := opts.clientOption()
	if err != nil {
		return nil, err
	}
	s := &Store{
		cluster: opts.Cluster,
		shards:  newShards(opts.Cluster),
	}
	s.conn.opt = copt
	s.conn.dial()
	return s, nil
}

// Get returns the value stored under key: one GET.
func (s *Store) Get(ctx context.Context, key string) (v []byte, found bool, err error) {
	c, cl, err := s.begin(ctx, "get")
	if err != nil {
		return nil, false, err
	}
	defer cl.end(&err)
	pk, _ := s.locate(key)
	v, err = c.Do(cl.ctx, c.B().Get().Key(pk).Build()).AsBytes()
	if err != nil {
		if rueidis.IsRedisNil(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// millis is ttl in milliseconds, rounded up: Redis's unit, and a backend
// rounds a TTL up, never down.
func millis(ttl time.Duration) int64 {
	return int64((ttl + time.Millisecond - 1) / time.Millisecond)
}

// ttlMillis is ttl in milliseconds as text, "0" for none.
func ttlMillis(ttl time.Duration) string {
	if ttl <= 0 {
		return "0"
	}
	return strconv.FormatInt(millis(ttl), 10)
}

// writeCmds appends the transaction that stores value under key and files
// key in its shard's index: MULTI, SET, ZADD, EXEC. Being one
// transaction, a write is never seen without its index entry.
func (s *Store) writeCmds(c rueidis.Client, cmds rueidis.Commands, key string, value []byte, ttl time.Duration, nx bool) rueidis.Commands {
	pk, sh := s.locate(key)
	return append(cmds,
		c.B().Multi().Build(),
		setCmd(c.B(), pk, string(value), ttl, nx), // a copy: the call may outlive a cancelled context
		c.B().Zadd().Key(sh.index).ScoreMember().ScoreMember(0, key).Build(),
		c.B().Exec().Build())
}

// setCmd builds SET pk v [NX] [PX ms].
func setCmd(b rueidis.Builder, pk, v string, ttl time.Duration, nx bool) rueidis.Completed {
	set := b.Set().Key(pk).Value(v)
	ms := millis(ttl)
	switch {
	case nx && ttl > 0:
		return set.Nx().PxMilliseconds(ms).Build()
	case nx:
		return set.Nx().Build()
	case ttl > 0:
		return set.PxMilliseconds(ms).Build()
	}
	return set.Build()
}

// execResults checks the replies of a MULTI/EXEC and returns the replies
// of the commands inside it.
func execResults(res []rueidis.RedisResult) ([]rueidis.RedisMessage, error) {
	for _, r := range res[:len(res)-1] {
		if err := r.Error(); err != nil {
			return nil, err
		}
	}
	inner, err := res[len(res)-1].ToArray()
	if err != nil {
		return nil, err
	}
	for _, m := range inner {
		if err := m.Error(); err != nil && !rueidis.IsRedisNil(err) {
			return nil, err
		}
	}
	return inner, nil
}

// newEntries returns how many new index entries the ZADD of a write's
// transaction (its last command) filed.
func newEntries(inner []rueidis.RedisMessage) int64 {
	n, _ := inner[len(inner)-1].AsInt64()
	return n
}

// Set stores value under key for ttl: one transaction (SET, ZADD to the
// index) in one round trip.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) (err error) {
	c, cl, err := s.begin(ctx, "set")
	if err != nil {
		return err
	}
	defer cl.end(&err)
	inner, err := execResults(c.DoMulti(cl.ctx, s.writeCmds(c, make(rueidis.Commands, 0, 4), key, value, ttl, false)...))
	if err == nil {
		s.filed(c, key, newEntries(inner))
	}
	return err
}

// Add stores value under key only if the key is absent (SET NX), in the
// same transaction as Set.
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (added bool, err error) {
	c, cl, err := s.begin(ctx, "add")
	if err != nil {
		return false, err
	}
	defer cl.end(&err)
	inner, err := execResults(c.DoMulti(cl.ctx, s.writeCmds(c, make(rueidis.Commands, 0, 4), key, value, ttl, true)...))
	if err != nil {
		return false, err
	}
	s.filed(c, key, newEntries(inner))
	return !inner[0].IsNil(), nil
}

// Delete removes key and its index entry in one transaction.
func (s *Store) Delete(ctx context.Context, key string) (existed bool, err error) {
	c, cl, err := s.begin(ctx, "delete")
	if err != nil {
		return false, err
	}
	defer cl.end(&err)
	pk, sh := s.locate(key)
	inner, err := execResults(c.DoMulti(cl.ctx,
		c.B().Multi().Build(),
		c.B().Unlink().Key(pk).Build(),
		c.B().Zrem().Key(sh.index).Member(key).Build(),
		c.B().Exec().Build()))
	if err != nil {
		return false, err
	}
	n, err := inner[0].AsInt64()
	return n > 0, err
}

// Clear removes every key filed in the store's index — every key written
// through this backend on this database or cluster, by any process —
// and nothing else: other programs' keys on the same server stay. It
// costs what DeletePrefix of every key costs.
func (s *Store) Clear(ctx context.Context) error {
	_, err := s.deleteRange(ctx, "clear", "")
	return err
}

// Close closes the connections. Calls after Close return ErrClosed.
func (s *Store) Close() error {
	s.conn.close()
	return nil
}
