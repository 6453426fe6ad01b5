package redis

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"keyedcache.dev/keyedcache/backend"
)

// Server-assisted client-side caching, for the core's process tier.
//
// Track opens a second client on the same servers whose connections turn
// on CLIENT TRACKING in its default mode (RESP3): the server remembers
// every key read on such a connection and, when one changes — a write or
// delete by any client, keyedcache or redis-cli, an expiry, an eviction,
// a FLUSHDB — pushes an "invalidate" message for it on that connection.
// rueidis hands the pushes to OnInvalidations in the connection's reading
// goroutine, in the order they arrive, and calls it with nil when the
// connection closes for any reason (a server restart, CLIENT KILL, a
// keep-alive PING left unanswered, Close): the tier then drops everything,
// because what the server would have said on that connection is lost.
//
// The client has one connection per server (PipelineMultiplex -1), so that
// a PING on it (Sync) is answered after every push the server sent there
// before it read the PING: replies and pushes share the connection, in
// order. In cluster mode a tracked key lives on the node of its shard's
// hash tag, and Sync sends one "PING <tag>" per shard, which rueidis routes
// by the tag's slot to that very node and connection; keys that move to
// another node in a resharding are deleted from the old one, which pushes
// their invalidation first.
//
// Tracked reads are GET with PTTL in the same round trip, so that a copy
// never outlives the entry's own TTL: Redis reports an expiry only when it
// notices it, and nobody may ask for the key meanwhile.
//
// Calls go through the store's breaker, like every other call, and never
// use rueidis's pooled connections (blocking commands, or pipelines of
// 2,000 commands or more), which Sync would not reach: a GetMany is sent
// in chunks of trackedChunk keys.

const trackedChunk = 256

var _ backend.Tracker = (*Store)(nil)

// Track opens a tracked view of the store (see backend.Tracker); it
// connects in the background, as New does. The server must speak RESP3
// (Redis 6 or later) and allow CLIENT TRACKING; otherwise every call of
// the view fails, and the core's process tier stays empty.
func (s *Store) Track(invalidate func(keys []string)) (backend.TrackedReader, error) {
	if invalidate == nil {
		return nil, errors.New("redis: Track needs an invalidate function")
	}
	t := &tracked{s: s}
	opt := s.conn.opt
	opt.DisableCache = false               // RESP3 and CLIENT TRACKING ON on every connection
	opt.ClientTrackingOptions = []string{} // the default mode: every key read is tracked (not OPTIN)
	opt.PipelineMultiplex = -1             // one connection per server (0 means up to 4 to rueidis): see Sync
	opt.CacheSizeEachConn = 1 << 10        // rueidis's own cache stays unused (no DoCache)
	opt.ClientName = "keyedcache-near"
	opt.OnInvalidations = func(ms []rueidis.RedisMessage) {
		if ms == nil {
			invalidate(nil)
			return
		}
		keys := make([]string, len(ms))
		for i, m := range ms {
			k, err := m.ToString()
			if err != nil {
				invalidate(nil) // a push we cannot read: in doubt
				return
			}
			keys[i] = s.unlocate(k)
		}
		invalidate(keys)
	}
	t.conn.opt = opt
	t.conn.quiet = true
	t.conn.dial()
	return t, nil
}

// unlocate returns the key whose value Redis keeps under rk (see locate).
func (s *Store) unlocate(rk string) string {
	if !s.cluster || !strings.HasPrefix(rk, "{") {
		return rk
	}
	if i := strings.IndexByte(rk, '}'); i > 0 {
		return rk[i+1:]
	}
	return rk
}

// tracked is a Store's tracked view.
type tracked struct {
	s    *Store
	conn connection
}

// remaining turns a PTTL reply into a time to live: found is false when
// the key is gone.
func remaining(ms int64) (ttl time.Duration, found bool) {
	switch {
	case ms == -1:
		return backend.NoExpiry, true
	case ms < 0:
		return 0, false
	case ms == 0: // less than a millisecond left
		return time.Millisecond, true
	}
	return time.Duration(ms) * time.Millisecond, true
}

// Get reads key and its remaining TTL (GET, PTTL) in one round trip on a
// tracked connection.
func (t *tracked) Get(ctx context.Context, key string) (v []byte, ttl time.Duration, found bool, err error) {
	c, cl, err := t.s.beginOn(ctx, "tracked get", &t.conn)
	if err != nil {
		return nil, 0, false, err
	}
	defer cl.end(&err)
	pk, _ := t.s.locate(key)
	res := c.DoMulti(cl.ctx, c.B().Get().Key(pk).Build(), c.B().Pttl().Key(pk).Build())
	v, err = res[0].AsBytes()
	if rueidis.IsRedisNil(err) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	ms, err := res[1].AsInt64()
	if err != nil {
		return nil, 0, false, err
	}
	if ttl, found = remaining(ms); !found {
		return nil, 0, false, nil // gone between the two commands
	}
	if v == nil {
		v = []byte{}
	}
	return v, ttl, true, nil
}

// GetMany reads keys and their remaining TTLs on tracked connections:
// per chunk of keys, an MGET per shard and a PTTL per key, pipelined.
func (t *tracked) GetMany(ctx context.Context, keys []string) (values map[string][]byte, ttls map[string]time.Duration, err error) {
	values = make(map[string][]byte, len(keys))
	ttls = make(map[string]time.Duration, len(keys))
	if len(keys) == 0 {
		return values, ttls, nil
	}
	c, cl, err := t.s.beginOn(ctx, "tracked get many", &t.conn)
	if err != nil {
		return values, ttls, err
	}
	defer cl.end(&err)
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), trackedChunk)]
		keys = keys[len(chunk):]
		if err := t.getChunk(cl.ctx, c, chunk, values, ttls); err != nil {
			return values, ttls, err
		}
	}
	return values, ttls, nil
}

func (t *tracked) getChunk(ctx context.Context, c rueidis.Client, keys []string, values map[string][]byte, ttls map[string]time.Duration) error {
	groups := t.s.byShard(len(keys), func(i int) string { return keys[i] })
	cmds := make(rueidis.Commands, 0, len(groups)+len(keys))
	for _, g := range groups {
		pks := make([]string, len(g.idx))
		for j, i := range g.idx {
			pks[j] = g.sh.tag + keys[i]
		}
		cmds = append(cmds, c.B().Mget().Key(pks...).Build())
	}
	for _, g := range groups {
		for _, i := range g.idx {
			cmds = append(cmds, c.B().Pttl().Key(g.sh.tag+keys[i]).Build())
		}
	}
	res := c.DoMulti(ctx, cmds...)
	next := len(groups) // the first PTTL reply
	for gi, g := range groups {
		vals, err := res[gi].ToArray()
		if err == nil && len(vals) != len(g.idx) {
			err = errShape
		}
		if err != nil {
			return err
		}
		for j, m := range vals {
			ms, err := res[next].AsInt64()
			next++
			if err != nil {
				return err
			}
			if m.IsNil() {
				continue
			}
			ttl, found := remaining(ms)
			if !found {
				continue
			}
			v, err := m.AsBytes()
			if err != nil {
				return err
			}
			if v == nil {
				v = []byte{}
			}
			k := keys[g.idx[j]]
			values[k], ttls[k] = v, ttl
		}
	}
	return nil
}

// Sync sends a PING on every connection a tracked read may use and waits
// for the answers: on one server, one PING; on a cluster, one "PING <tag>"
// per shard, routed to the node that holds the shard's keys.
func (t *tracked) Sync(ctx context.Context) (err error) {
	c, cl, err := t.s.beginOn(ctx, "tracked sync", &t.conn)
	if err != nil {
		return err
	}
	defer cl.end(&err)
	if !t.s.cluster {
		return c.Do(cl.ctx, c.B().Ping().Build()).Error()
	}
	cmds := make(rueidis.Commands, len(t.s.shards))
	for i, sh := range t.s.shards {
		cmds[i] = c.B().Arbitrary("PING").Keys(sh.tag).Build()
	}
	for _, r := range c.DoMulti(cl.ctx, cmds...) {
		if err := r.Error(); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the view's connections.
func (t *tracked) Close() error {
	t.conn.close()
	return nil
}
