package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	"keyedcache.dev/internal/keyheap"
)

// Listing in order. The index of a shard is already in byte order, so on
// one server a page of keys is one ZRANGEBYLEX from a cursor. In cluster
// mode each of the 256 shards is in order and the listing merges them:
// every shard's next keys are fetched, the smallest is passed on, and a
// shard is read further when its fetched keys are used up while it holds
// the smallest. A page then costs what the page holds, not what the
// store holds.
//
// How much to fetch at a time is a guess, since only fn knows where it
// stops. The staff page asks for 51 keys (a page of 50, and one to tell
// whether another follows), at most 1001. pageHint is that guess rounded
// up: on one server the first script takes 64 members, so a page of 51 is
// one round trip even with a few entries of expired keys among them. In
// cluster mode a page of 51 takes about 0.2 keys from each shard, but
// every shard must show its next key before the merge can pass on the
// smallest, so the first round asks every shard for its share of pageHint
// (1) and scanExtra more: 4 members each, 1024 in all, in one pipelined
// round trip per node. The members beyond what the page uses cost about a
// microsecond each; a shard that runs out before the page ends costs a
// round trip, and the merge must wait for it. Simulated over the shards
// of sequential and of random keys, a page of 51 takes on average 1.00 to
// 1.01 rounds with 4 members, 1.02 to 1.3 with 3, and 3.8 to 5.2 with 2;
// a page of 101, 1.0 to 1.2 rounds with 4 and 1.7 to 2.9 with 3. Every
// further batch of a shard is twice its last, up to rangeBatch, so that a
// long listing soon reads as ScanKeys does; and the round trip that reads
// on the shard that ran out also reads on every shard that has used half
// its last batch, which the merge would soon wait for one by one: a page
// of 1001 on a cluster takes some ten rounds instead of some 140.
const (
	pageHint  = 64
	scanExtra = 3
)

// ScanKeysAfter calls fn, in ascending byte order, with every live key
// that starts with prefix and sorts strictly after after ("" starts at
// the first), until fn returns false (backend.SortedKeyLister). It reads
// the index from the cursor, a small batch at a time, and skips entries
// whose key has expired or been evicted, so a page of keys costs about
// the same however many keys there are: on one server a page of up to
// about 60 keys is one script of O(log N + 64); in cluster mode it is
// one script on every shard, pipelined (one round trip per node), with
// now and then one more on a shard that ran out. fn runs between calls
// to the server, never during one, so it may use the store. A key
// written or deleted while the listing runs may be listed or not; the
// listing is otherwise complete, so complete is true unless err is not
// nil.
func (s *Store) ScanKeysAfter(ctx context.Context, prefix, after string, fn func(key string) bool) (bool, error) {
	from, max := lexRange(prefix)
	switch {
	case after == "" || after < prefix:
		// after sorts before every key under prefix: start at the first.
	case strings.HasPrefix(after, prefix):
		from = "(" + after
	default:
		// after sorts above every key that starts with prefix.
		return true, nil
	}
	first := pageHint
	if n := len(s.shards); n > 1 {
		first = (pageHint+n-1)/n + scanExtra
	}
	cursors := make([]*mergeCursor, len(s.shards))
	for i, sh := range s.shards {
		cursors[i] = &mergeCursor{sh: sh, from: from, batch: first, more: true}
	}
	if err := s.fill(ctx, max, cursors); err != nil {
		return false, err
	}
	var live []*mergeCursor
	for _, c := range cursors {
		if len(c.keys) > 0 {
			live = append(live, c)
		}
	}
	h := keyheap.Init(live)
	for h.Len() > 0 {
		c := h.Min()
		k := c.keys[0]
		c.keys = c.keys[1:]
		if !fn(k) {
			return true, nil
		}
		if len(c.keys) == 0 {
			if !c.more {
				h.Drop()
				continue
			}
			// The shard's next key may be the smallest of all: it must
			// be known before anything else is passed on. The round trip
			// also reads on every shard that has used half its last
			// batch, which would soon need one of its own.
			next := []*mergeCursor{c}
			for _, o := range h.All()[1:] {
				if o.more && 2*len(o.keys) <= o.last {
					next = append(next, o)
				}
			}
			if err := s.fill(ctx, max, next); err != nil {
				return false, err
			}
			if len(c.keys) == 0 {
				h.Drop()
				continue
			}
		}
		h.Fix()
	}
	return true, nil
}

// A mergeCursor is a shard's place in an ordered listing: the live keys
// fetched and not yet passed on, and where its index is read on from.
type mergeCursor struct {
	sh    *shard
	keys  []string // live keys fetched, in order, not yet passed on
	from  string   // the lexical bound the next batch starts from
	batch int      // index members the next batch takes
	last  int      // index members the last batch took
	more  bool     // the index may hold further members in range
}

// fill fetches the next batch of each cursor (all of which may have
// more), then again for those that found no live key — a batch can hold
// only entries of expired keys — until each has a key or has reached the
// end of its range. Each round is one pipelined script per cursor.
func (s *Store) fill(ctx context.Context, max string, cursors []*mergeCursor) error {
	for len(cursors) > 0 {
		if err := s.fetch(ctx, max, cursors); err != nil {
			return err
		}
		var again []*mergeCursor
		for _, c := range cursors {
			if len(c.keys) == 0 && c.more {
				again = append(again, c)
			}
		}
		cursors = again
	}
	return nil
}

// fetch runs one scanRangeScript on each cursor and moves it on: its
// live keys follow those it has, it learns whether its range may hold
// more, and its next batch is twice as large, up to rangeBatch.
func (s *Store) fetch(ctx context.Context, max string, cursors []*mergeCursor) (err error) {
	const op = "scan keys after"
	if err := ctx.Err(); err != nil {
		// Not a call: the breaker learns nothing from it.
		return fmt.Errorf("redis %s: %w", op, err)
	}
	c, cl, err := s.begin(ctx, op)
	if err != nil {
		return err
	}
	defer cl.end(&err)
	execs := make([]rueidis.LuaExec, len(cursors))
	for i, a := range cursors {
		execs[i] = rueidis.LuaExec{Keys: []string{a.sh.index}, Args: []string{a.from, max, strconv.Itoa(a.batch), a.sh.tag}}
	}
	for i, r := range scanRangeScript.execMulti(cl.ctx, c, execs) {
		out, err := r.ToArray()
		if err == nil && len(out) != 3 {
			err = errShape
		}
		if err != nil {
			return err
		}
		keys, err := out[0].AsStrSlice()
		if err != nil {
			return err
		}
		a := cursors[i]
		a.keys = append(a.keys, keys...)
		a.last = a.batch
		visited, _ := out[2].AsInt64()
		a.more = visited >= int64(a.batch)
		if a.more {
			last, _ := out[1].ToString()
			a.from = "(" + last
			a.batch = min(2*a.batch, rangeBatch)
		}
	}
	return nil
}

// Head returns the cursor's next key, for keyheap.
func (c *mergeCursor) Head() string { return c.keys[0] }
