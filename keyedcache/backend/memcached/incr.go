package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// maxIncrAttempts bounds the compare-and-swap loop of Incr.
const maxIncrAttempts = 1000

// errContention is returned by an Incr that lost maxIncrAttempts races.
var errContention = errors.New("memcached: incr: too much contention on the key")

// Incr adds delta to the decimal integer stored under key, as a signed
// 64-bit number, and keeps the entry's time to live. memcached's own
// incr and decr work on unsigned numbers (decr stops at zero, incr wraps
// at 2^64), so Incr is a compare-and-swap loop over the meta commands
// (memcached 1.6 or later): a meta get reads the value, its CAS unique
// and its remaining seconds in one round trip, and a meta set writes the
// sum with that CAS unique and those seconds, which the server refuses
// if anything wrote the entry in between; then Incr reads again. It
// returns backend.ErrNotFound for a missing key, backend.ErrNotNumeric
// for a value that is not a decimal integer, and backend.ErrOverflow,
// leaving the value as it was, for a sum outside the int64 range.
func (s *Store) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	return s.incr(ctx, key, 0, delta, nil, nil)
}

// IncrWith is Incr on a value whose first skip bytes are a header: it
// adds delta to the decimal integer after them and writes the header
// back as it was. The extra keys are read in the same round trip as the
// value, and check is called with the header and their values (got[i]
// nil for a missing one): if it returns false, the entry counts as
// missing (backend.ErrNotFound).
func (s *Store) IncrWith(ctx context.Context, key string, skip int, delta int64, extra []string, check func(head []byte, got [][]byte) bool) (int64, error) {
	return s.incr(ctx, key, skip, delta, extra, check)
}

func (s *Store) incr(ctx context.Context, key string, skip int, delta int64, extra []string, check func(head []byte, got [][]byte) bool) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	sk := s.serverKey(key)
	sv := s.ring.serverFor(sk)
	for attempt := 0; attempt < maxIncrAttempts; attempt++ {
		var (
			value  []byte
			cas    uint64
			secs   int64
			expiry int64 // for an entry over 30 days: the Unix second it ends
			found  bool
		)
		got := make([][]byte, len(extra))
		local, sks, wait := s.readExtra(ctx, sv, extra, got)
		err := s.raw.with(ctx, sv, s.timeout, func(c *rawConn) (err error) {
			var pre func() error
			if len(local) > 0 {
				clear(got)
				c.writeGet(sks, local)
				pre = func() error {
					return c.readGetReply(func(k string, v []byte) {
						for _, i := range local {
							if sks[i] == k {
								got[i] = v
							}
						}
					})
				}
			}
			read := func() (int64, bool, error) {
				value, cas, secs, found, err = c.metaGet(sk, pre)
				pre = nil
				return secs, found, err
			}
			if _, _, err = read(); err != nil || !found || secs <= maxRelative {
				return err
			}
			// Written back as seconds from this machine's clock, the
			// server's count would move the expiry later: keep it.
			expiry, _, _, err = c.absoluteExpiry(read)
			return err
		})
		if werr := wait(); err == nil {
			err = werr
		}
		switch {
		case err != nil:
			return 0, wrap("incr", err)
		case !found, len(value) < skip:
			return 0, backend.ErrNotFound
		case check != nil && !check(value[:skip], got):
			return 0, backend.ErrNotFound
		}
		head := value[:skip]
		n, err := strconv.ParseInt(string(value[skip:]), 10, 64)
		if err != nil {
			return 0, backend.ErrNotNumeric
		}
		if delta > 0 && n > math.MaxInt64-delta || delta < 0 && n < math.MinInt64-delta {
			return 0, backend.ErrOverflow
		}
		n += delta
		exp := int32(0) // never, for an entry that had no expiry (secs < 0)
		switch {
		case expiry > 0 && expiry <= math.MaxInt32:
			exp = int32(expiry)
		case secs >= 0:
			exp = exptime(max(secs, 1), time.Now())
		}
		var reply []byte
		err = s.raw.with(ctx, sv, s.timeout, func(c *rawConn) (err error) {
			next := strconv.AppendInt(head[:skip:skip], n, 10)
			fmt.Fprintf(c.wr, "ms %s %d C%d T%d\r\n", sk, len(next), cas, exp)
			c.wr.Write(next)
			c.wr.WriteString("\r\n")
			if err := c.wr.Flush(); err != nil {
				return err
			}
			l, err := c.line()
			reply = bytes.Clone(l)
			return err
		})
		if err != nil {
			return 0, wrap("incr", err)
		}
		switch string(reply) {
		case "HD":
			return n, nil
		case "EX", "NS": // written in between: read again
			continue
		case "NF":
			return 0, backend.ErrNotFound // deleted or expired in between
		}
		return 0, wrap("incr", &protocolError{msg: "unexpected meta set reply " + strconv.Quote(string(reply))})
	}
	return 0, errContention
}

// exptime turns a number of seconds the server counted into the exptime
// field, relative up to 30 days and absolute beyond (never past 2038).
func exptime(secs int64, now time.Time) int32 {
	if secs <= maxRelative {
		return int32(secs)
	}
	if abs := now.Unix() + secs; abs <= math.MaxInt32 {
		return int32(abs)
	}
	return 0
}

// metaGet reads the value, the CAS unique and the remaining seconds of
// a key (-1: no expiry).
// pre, if not nil, is called once the command is sent, before its reply
// is read (to read the replies of commands written before it).
func (c *rawConn) metaGet(sk string, pre func() error) (value []byte, cas uint64, secs int64, found bool, err error) {
	if err = c.command("mg %s v c t", sk); err != nil {
		return
	}
	if pre != nil {
		if err = pre(); err != nil {
			return
		}
	}
	l, err := c.line()
	if err != nil {
		return
	}
	if bytes.Equal(l, []byte("EN")) {
		return nil, 0, 0, false, nil
	}
	rest, ok := bytes.CutPrefix(l, []byte("VA "))
	if !ok {
		if err = errorReply(l); err == nil {
			err = &protocolError{msg: "unexpected meta get reply " + strconv.Quote(string(l))}
		}
		return
	}
	fields := bytes.Fields(rest)
	if len(fields) == 0 {
		return nil, 0, 0, false, fmt.Errorf("memcached: bad meta get reply %q", l)
	}
	size, err := strconv.Atoi(string(fields[0]))
	if err != nil || size < 0 {
		return nil, 0, 0, false, fmt.Errorf("memcached: bad meta get reply %q", l)
	}
	var sawCAS, sawTTL bool
	for _, f := range fields[1:] {
		switch f[0] {
		case 'c':
			cas, err = strconv.ParseUint(string(f[1:]), 10, 64)
			sawCAS = err == nil
		case 't':
			secs, err = strconv.ParseInt(string(f[1:]), 10, 64)
			sawTTL = err == nil
		}
	}
	if !sawCAS || !sawTTL {
		return nil, 0, 0, false, fmt.Errorf("memcached: bad meta get reply %q", l)
	}
	value = make([]byte, size+2)
	if _, err = io.ReadFull(c.rd, value); err != nil {
		return nil, 0, 0, false, err
	}
	if !bytes.HasSuffix(value, []byte("\r\n")) {
		return nil, 0, 0, false, errors.New("memcached: corrupt meta get reply")
	}
	return value[:size], cas, secs, true, nil
}
