package redis

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"keyedcache.dev/keyedcache/backend"
)

var errShape = errors.New("unexpected reply shape")

// Touch gives a live key a new ttl: PEXPIRE, or for NoExpiry a script
// that tells a missing key from one without a TTL.
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration) (err error) {
	c, cl, err := s.begin(ctx, "touch")
	if err != nil {
		return err
	}
	defer cl.end(&err)
	ctx = cl.ctx
	pk, _ := s.locate(key)
	var r rueidis.RedisResult
	if ttl <= 0 {
		r = persistScript.exec(ctx, c, []string{pk}, nil)
	} else {
		r = c.Do(ctx, c.B().Pexpire().Key(pk).Milliseconds(millis(ttl)).Build())
	}
	n, err := r.AsInt64()
	if err != nil {
		return err
	}
	if n == 0 {
		return backend.ErrNotFound
	}
	return nil
}

// Incr adds delta to the decimal integer under key with INCRBY, inside a
// script that first checks the key exists (INCRBY alone would create
// it). The TTL stays. A value that is not an integer is ErrNotNumeric;
// a result past the int64 range is ErrOverflow and changes nothing.
func (s *Store) Incr(ctx context.Context, key string, delta int64) (n int64, err error) {
	c, cl, err := s.begin(ctx, "incr")
	if err != nil {
		return 0, err
	}
	defer cl.end(&err)
	ctx = cl.ctx
	pk, _ := s.locate(key)
	text, err := incrScript.exec(ctx, c, []string{pk}, []string{strconv.FormatInt(delta, 10)}).ToString()
	switch {
	case err == nil:
		return strconv.ParseInt(text, 10, 64)
	case rueidis.IsRedisNil(err):
		return 0, backend.ErrNotFound
	}
	if re, ok := rueidis.IsRedisErr(err); ok {
		switch msg := re.Error(); {
		case strings.Contains(msg, "not an integer"):
			return 0, backend.ErrNotNumeric
		case strings.Contains(msg, "overflow"):
			return 0, backend.ErrOverflow
		}
	}
	return 0, err
}

// CompareAndSwap stores value under key for ttl only if the key holds
// exactly old, in one script (GET, compare, SET, ZADD to the index).
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (swapped bool, err error) {
	c, cl, err := s.begin(ctx, "compare and swap")
	if err != nil {
		return false, err
	}
	defer cl.end(&err)
	ctx = cl.ctx
	pk, sh := s.locate(key)
	n, err := casScript.exec(ctx, c, []string{pk, sh.index},
		[]string{string(value), ttlMillis(ttl), key, string(old)}).AsInt64()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// TTL returns the remaining time to live of key (PTTL).
func (s *Store) TTL(ctx context.Context, key string) (ttl time.Duration, found bool, err error) {
	c, cl, err := s.begin(ctx, "ttl")
	if err != nil {
		return 0, false, err
	}
	defer cl.end(&err)
	ctx = cl.ctx
	pk, _ := s.locate(key)
	ms, err := c.Do(ctx, c.B().Pttl().Key(pk).Build()).AsInt64()
	switch {
	case err != nil:
		return 0, false, err
	case ms == -2:
		return 0, false, nil
	case ms == -1:
		return backend.NoExpiry, true, nil
	}
	return time.Duration(ms) * time.Millisecond, true, nil
}

// group is the keys of one shard in a many-key call, by their position.
type group struct {
	sh  *shard
	idx []int
}

// byShard groups the positions of keys by shard, in a stable order.
func (s *Store) byShard(n int, key func(i int) string) []group {
	if len(s.shards) == 1 {
		g := group{sh: s.shards[0], idx: make([]int, n)}
		for i := range n {
			g.idx[i] = i
		}
		return []group{g}
	}
	at := map[*shard]int{}
	var groups []group
	for i := range n {
		sh := s.shardOf(key(i))
		j, ok := at[sh]
		if !ok {
			j = len(groups)
			at[sh] = j
			groups = append(groups, group{sh: sh})
		}
		groups[j].idx = append(groups[j].idx, i)
	}
	return groups
}

// GetMany returns the live entries among keys: one MGET (one per shard
// in cluster mode, pipelined).
func (s *Store) GetMany(ctx context.Context, keys []string) (out map[string][]byte, err error) {
	out = make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	c, cl, err := s.begin(ctx, "get many")
	if err != nil {
		return out, err
	}
	defer cl.end(&err)
	ctx = cl.ctx
	groups := s.byShard(len(keys), func(i int) string { return keys[i] })
	cmds := make(rueidis.Commands, len(groups))
	for gi, g := range groups {
		pks := make([]string, len(g.idx))
		for j, i := range g.idx {
			pks[j] = g.sh.tag + keys[i]
		}
		cmds[gi] = c.B().Mget().Key(pks...).Build()
	}
	for gi, r := range c.DoMulti(ctx, cmds...) {
		vals, err := r.ToArray()
		if err == nil && len(vals) != len(groups[gi].idx) {
			err = errShape
		}
		if err != nil {
			return out, err
		}
		for j, m := range vals {
			if m.IsNil() {
				continue
			}
			v, err := m.AsBytes()
			if err != nil {
				return out, err
			}
			if v == nil {
				v = []byte{}
			}
			out[keys[groups[gi].idx[j]]] = v
		}
	}
	return out, nil
}

// eachGroup calls fn for every group, at once: in cluster mode a
// MULTI/EXEC must stay within one DoMulti per hash slot, so the groups'
// transactions go out concurrently and rueidis pipelines them. It
// returns the first error.
func eachGroup(groups []group, fn func(g group) error) error {
	if len(groups) == 1 {
		return fn(groups[0])
	}
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() { errs[i] = fn(g) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// SetMany stores every item with one ttl: one transaction per shard (SETs
// and one ZADD to the index), in one round trip.
func (s *Store) SetMany(ctx context.Context, items map[string][]byte, ttl time.Duration) (err error) {
	if len(items) == 0 {
		return nil
	}
	c, cl, err := s.begin(ctx, "set many")
	if err != nil {
		return err
	}
	defer cl.end(&err)
	ctx = cl.ctx
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	err = eachGroup(s.byShard(len(keys), func(i int) string { return keys[i] }), func(g group) error {
		cmds := make(rueidis.Commands, 0, len(g.idx)+3)
		cmds = append(cmds, c.B().Multi().Build())
		zadd := c.B().Zadd().Key(g.sh.index).ScoreMember()
		for _, i := range g.idx {
			k := keys[i]
			cmds = append(cmds, setCmd(c.B(), g.sh.tag+k, string(items[k]), ttl, false))
			zadd = zadd.ScoreMember(0, k)
		}
		cmds = append(cmds, zadd.Build(), c.B().Exec().Build())
		inner, err := execResults(c.DoMulti(ctx, cmds...))
		if err == nil {
			s.filed(c, keys[g.idx[0]], newEntries(inner))
		}
		return err
	})
	if err != nil {
		return err
	}
	return nil
}

// DeleteMany removes keys and their index entries — one transaction per
// shard — and returns how many existed.
func (s *Store) DeleteMany(ctx context.Context, keys []string) (deleted int, err error) {
	if len(keys) == 0 {
		return 0, nil
	}
	c, cl, err := s.begin(ctx, "delete many")
	if err != nil {
		return 0, err
	}
	defer cl.end(&err)
	ctx = cl.ctx
	var n atomic.Int64
	err = eachGroup(s.byShard(len(keys), func(i int) string { return keys[i] }), func(g group) error {
		pks := make([]string, len(g.idx))
		members := make([]string, len(g.idx))
		for j, i := range g.idx {
			pks[j], members[j] = g.sh.tag+keys[i], keys[i]
		}
		inner, err := execResults(c.DoMulti(ctx, c.B().Multi().Build(), c.B().Unlink().Key(pks...).Build(),
			c.B().Zrem().Key(g.sh.index).Member(members...).Build(), c.B().Exec().Build()))
		if err != nil {
			return err
		}
		d, err := inner[0].AsInt64()
		n.Add(d)
		return err
	})
	if err != nil {
		return int(n.Load()), err
	}
	return int(n.Load()), nil
}
