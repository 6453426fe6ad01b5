package keyedcache

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strconv"

	"keyedcache.dev/keyedcache/backend"
)

// The invalidation log of the process tiers that have no tracking server
// (see NearCache), and the presence marker by which those tiers ask the
// writers to write it. Everything lives in the backend under the alias's
// prefix, under keys the core never builds (a '%' in key text is
// escaped):
//
//	%near::seq   the counter: decimal text, so that every backend's
//	             native increment works on it
//	%near::<i>   slot i of the ring: "<seq> <kind><key>", its sequence
//	             number, one byte of kind (k: a key, c: a key and its
//	             children, a: everything) and the key
//	%near::here  the presence marker: a random token, with a TTL

// markerLooks is the least TTL of a presence marker, in writers' looks
// (presenceEvery: 5 minutes); a tier renews its marker after a quarter of
// it. Writers go on writing the log for up to this long after the last
// tier stopped renewing it.
const markerLooks = 300

// nearLog is the log as its writers and readers address it.
type nearLog struct {
	c        *Cache
	seqKey   string
	slotHead string
	hereKey  string
}

func newNearLog(c *Cache) *nearLog {
	return &nearLog{c: c, seqKey: c.prefix + "%near::seq", slotHead: c.prefix + "%near::", hereKey: c.prefix + "%near::here"}
}

// logCapable reports why c's backend cannot keep the log, if it cannot.
func logCapable(c *Cache) error {
	if _, ok := c.b.(backend.Incrementer); !ok && c.cas == nil {
		return &backend.ConfigError{Param: "near_entries", Reason: "the process tier needs a backend that increments atomically or compares-and-swaps; this one does neither"}
	}
	if _, ok := c.b.(backend.Toucher); !ok && c.cas == nil {
		return &backend.ConfigError{Param: "near_entries", Reason: "the process tier needs a backend that touches or compares-and-swaps; this one does neither"}
	}
	return nil
}

// slotKey is the backend key of the slot of seq.
func (l *nearLog) slotKey(seq int64) string {
	i := seq % LogSlots
	if i < 0 {
		i += LogSlots
	}
	return l.slotHead + strconv.FormatInt(i, 10)
}

func appendSlot(b []byte, seq int64, op nearOp) []byte {
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, ' ', byte(op.kind))
	return append(b, op.key...)
}

func parseSlot(data []byte) (seq int64, op nearOp, ok bool) {
	sp := bytes.IndexByte(data, ' ')
	if sp < 0 || sp+1 >= len(data) {
		return 0, op, false
	}
	seq, ok = parseInt(data[:sp])
	if !ok {
		return 0, op, false
	}
	op = nearOp{kind: nearOpKind(data[sp+1]), key: string(data[sp+2:])}
	switch op.kind {
	case opKey, opTree, opAll:
		return seq, op, true
	}
	return 0, op, false
}

func parseInt(data []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(data), 10, 64)
	return n, err == nil
}

// seqStart is the first value of a new counter: random in [2^40, 2^52),
// so that a counter created again after it vanished does not take up
// where the old one was, and far from overflowing.
func seqStart() []byte {
	var b [8]byte
	rand.Read(b[:])
	n := int64(binary.LittleEndian.Uint64(b[:])%(1<<52-1<<40)) + 1<<40
	return strconv.AppendInt(nil, n, 10)
}

// publish logs ops, changes already made to the backend.
func (l *nearLog) publish(ctx context.Context, ops []nearOp) error {
	if len(ops) > LogSlots {
		ops = []nearOp{{kind: opAll}}
	}
	delta := int64(len(ops))
	n, err := l.incr(ctx, delta)
	if errors.Is(err, backend.ErrNotFound) {
		if _, err = l.c.b.Add(ctx, l.seqKey, seqStart(), backend.NoExpiry); err == nil {
			n, err = l.incr(ctx, delta)
		}
	} else if errors.Is(err, backend.ErrNotNumeric) {
		if err = l.c.b.Set(ctx, l.seqKey, seqStart(), backend.NoExpiry); err == nil {
			n, err = l.incr(ctx, delta)
		}
	}
	if err != nil {
		return err
	}
	first := n - delta + 1
	if len(ops) == 1 {
		return l.c.b.Set(ctx, l.slotKey(first), appendSlot(nil, first, ops[0]), backend.NoExpiry)
	}
	items := make(map[string][]byte, len(ops))
	for i, op := range ops {
		seq := first + int64(i)
		items[l.slotKey(seq)] = appendSlot(nil, seq, op)
	}
	if l.c.multi != nil {
		return l.c.multi.SetMany(ctx, items, backend.NoExpiry)
	}
	for k, v := range items {
		if err := l.c.b.Set(ctx, k, v, backend.NoExpiry); err != nil {
			return err
		}
	}
	return nil
}

func (l *nearLog) incr(ctx context.Context, delta int64) (int64, error) {
	if in, ok := l.c.b.(backend.Incrementer); ok {
		return in.Incr(ctx, l.seqKey, delta)
	}
	return l.c.incrFallback(ctx, l.seqKey, delta)
}

// readSeq reads the counter, replacing one that is not a counter.
func (l *nearLog) readSeq(ctx context.Context) (n int64, found bool, err error) {
	for attempt := 0; ; attempt++ {
		data, found, err := l.c.b.Get(ctx, l.seqKey)
		if err != nil || !found {
			return 0, false, err
		}
		if n, ok := parseInt(data); ok {
			return n, true, nil
		}
		if attempt > 0 {
			return 0, false, errLogLost
		}
		if err := l.c.b.Set(ctx, l.seqKey, seqStart(), backend.NoExpiry); err != nil {
			return 0, false, err
		}
	}
}

// restartSeq puts a new counter where there is none (or garbage) and
// reads it back.
func (l *nearLog) restartSeq(ctx context.Context) (int64, error) {
	if _, err := l.c.b.Add(ctx, l.seqKey, seqStart(), backend.NoExpiry); err != nil {
		return 0, err
	}
	n, found, err := l.readSeq(ctx)
	if err == nil && !found {
		err = errLogLost
	}
	return n, err
}

var errLogLost = errors.New("keyedcache: the process tier's invalidation log vanished while being read")

// syncLog brings the tier up to the log, and keeps its presence marker;
// called by check with checkMu held. It reads the counter and the marker
// in one round trip; the slots in between, when the counter moved, in
// one more; now and then it renews the marker's TTL.
func (nt *nearTier) syncLog(ctx context.Context) error {
	l := nt.log
	got, err := nt.c.backendGetMany(ctx, []string{l.seqKey, l.hereKey})
	if err != nil {
		return err
	}
	mark, marked := got[l.hereKey]
	renew := marked && bytes.Equal(mark, nt.token)
	if renew && nt.now() >= nt.touchAt {
		if renew, err = nt.touchMarker(ctx); err != nil {
			return err
		}
		marked = marked && renew
	}
	if !renew {
		// The first check, or the marker lapsed: writers may have seen it
		// missing and stopped writing the log. Put it back (or adopt the
		// one another tier put back), drop everything, and answer nothing
		// until every writer must have seen it again.
		if err := nt.putMarker(ctx, mark, marked); err != nil {
			return err
		}
	}
	data, found := got[l.seqKey]
	n, numeric := parseInt(data)
	if !found || !numeric {
		// The counter is gone (evicted, or the alias cleared) or garbled:
		// whatever it held is lost. Start a new one and flush.
		if found {
			if err := nt.c.b.Set(ctx, l.seqKey, seqStart(), backend.NoExpiry); err != nil {
				return err
			}
		}
		if n, err = l.restartSeq(ctx); err != nil {
			return err
		}
		nt.advance(n, nil, true)
		return nil
	}
	switch {
	case !renew || !nt.havePos || n < nt.pos || n-nt.pos > LogSlots:
		nt.advance(n, nil, true)
		return nil
	case n == nt.pos:
		return nil
	}
	keys := make([]string, 0, n-nt.pos)
	for seq := nt.pos + 1; seq <= n; seq++ {
		keys = append(keys, l.slotKey(seq))
	}
	slots, err := nt.c.backendGetMany(ctx, keys)
	if err != nil {
		return err
	}
	ops := make([]nearOp, 0, len(keys))
	for i, k := range keys {
		seq, op, ok := parseSlot(slots[k])
		if !ok || seq != nt.pos+1+int64(i) {
			nt.advance(n, nil, true) // lost, overwritten or not yet written: in doubt
			return nil
		}
		ops = append(ops, op)
	}
	nt.advance(n, ops, false)
	return nil
}

// putMarker makes a marker of this tier's the backend's: a new one where
// there is none, else the one there; and arms the tier 2×every after
// that, measured from the moment the marker was known to be in place.
func (nt *nearTier) putMarker(ctx context.Context, mark []byte, marked bool) error {
	l := nt.log
	if !marked {
		fresh := newToken() // random: a marker put back is never taken for the one before
		added, err := nt.c.b.Add(ctx, l.hereKey, fresh, nt.markerTT)
		if err != nil {
			return err
		}
		mark = fresh
		if !added { // another tier put one first: adopt it
			if mark, marked, err = nt.c.b.Get(ctx, l.hereKey); err != nil {
				return err
			} else if !marked {
				return errLogLost
			}
		}
	}
	placed := nt.now()
	nt.token = mark
	nt.armAt = placed + 2*int64(nt.every) // NearWarmUp
	nt.touchAt = placed + int64(nt.markerTT/4)
	return nil
}

// touchMarker renews the marker's TTL and reports whether it was still
// this tier's.
func (nt *nearTier) touchMarker(ctx context.Context) (bool, error) {
	l := nt.log
	var err error
	still := true
	if t, ok := nt.c.b.(backend.Toucher); ok {
		// A marker replaced since it was read gets the TTL instead; the
		// next check sees the other token.
		err = t.Touch(ctx, l.hereKey, nt.markerTT)
		if errors.Is(err, backend.ErrNotFound) {
			still, err = false, nil
		}
	} else {
		still, err = nt.c.cas.CompareAndSwap(ctx, l.hereKey, nt.token, nt.token, nt.markerTT)
	}
	if err != nil {
		return false, err
	}
	if still {
		nt.touchAt = nt.now() + int64(nt.markerTT/4)
	}
	return still, nil
}

// advance applies ops (or flushes) and records n as the position applied;
// called with checkMu held, after n was read.
func (nt *nearTier) advance(n int64, ops []nearOp, flush bool) {
	switch {
	case flush && nt.havePos:
		nt.flush()
	case flush:
		nt.apply(nil, true) // the first check: nothing to count
	default:
		nt.apply(ops, false)
	}
	nt.pos, nt.havePos = n, true
}
