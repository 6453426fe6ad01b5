package memcached

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"
)

// The core's namespace generations read the tokens of a key's parents
// with every operation on the key. GetWith, SetWith and DeleteWith send
// that read in the same round trip as the operation: the keys on the
// key's own server go in one get command pipelined before the
// operation, on one connection; keys on other servers are read from
// those servers at the same time.

// GetWith reads key and the extra keys in one round trip. got[i] is the
// value of extra[i], nil when it is missing.
func (s *Store) GetWith(ctx context.Context, key string, extra []string) (value []byte, found bool, got [][]byte, err error) {
	value, found, got, err = s.exchange(ctx, opGet, key, nil, 0, extra)
	return value, found, got, wrap("get", err)
}

// SetWith stores value under key for ttl (as Set) and reads the extra
// keys in the same round trip, just after the value is stored.
func (s *Store) SetWith(ctx context.Context, key string, value []byte, ttl time.Duration, extra []string) (got [][]byte, err error) {
	_, _, got, err = s.exchange(ctx, opSet, key, value, expiration(ttl, time.Now()), extra)
	return got, wrap("set", err)
}

// DeleteWith deletes key, returning the value it held, and reads the
// extra keys (before the delete), in one round trip.
func (s *Store) DeleteWith(ctx context.Context, key string, extra []string) (old []byte, found bool, got [][]byte, err error) {
	old, found, got, err = s.exchange(ctx, opDelete, key, nil, 0, extra)
	return old, found, got, wrap("delete", err)
}

type withOp int

const (
	opGet withOp = iota
	opSet
	opDelete
)

// exchange runs op on key together with a read of extra (see GetWith).
func (s *Store) exchange(ctx context.Context, op withOp, key string, value []byte, exp int32, extra []string) (val []byte, found bool, got [][]byte, err error) {
	if s.closed.Load() {
		return nil, false, nil, ErrClosed
	}
	sk := s.serverKey(key)
	main := s.ring.serverFor(sk)
	if len(extra) > 0 {
		got = make([][]byte, len(extra))
	}
	local, sks, wait := s.readExtra(ctx, main, extra, got)
	err = s.raw.with(ctx, main, s.timeout, func(c *rawConn) error {
		val, found = nil, false
		for _, i := range local {
			got[i] = nil
		}
		// A set goes first, then the get: memcached then sends both
		// replies in one segment (a get's reply is written out at once).
		if op == opSet {
			c.wr.WriteString("set ")
			c.wr.WriteString(sk)
			c.wr.WriteString(" 0 ")
			c.wr.Write(strconv.AppendInt(c.num[:0], int64(exp), 10))
			c.wr.WriteByte(' ')
			c.wr.Write(strconv.AppendInt(c.num[:0], int64(len(value)), 10))
			c.wr.WriteString("\r\n")
			c.wr.Write(value)
			c.wr.WriteString("\r\n")
		}
		gets := 0
		if len(local) > 0 || op != opSet {
			c.wr.WriteString("get")
			for _, i := range local {
				c.wr.WriteByte(' ')
				c.wr.WriteString(sks[i])
			}
			if op != opSet {
				c.wr.WriteByte(' ')
				c.wr.WriteString(sk)
			}
			c.wr.WriteString("\r\n")
			gets = 1
		}
		if op == opDelete {
			c.wr.WriteString("delete ")
			c.wr.WriteString(sk)
			c.wr.WriteString("\r\n")
		}
		if err := c.wr.Flush(); err != nil {
			return err
		}
		if op == opSet {
			if err := c.storedReply(); err != nil {
				return err
			}
		}
		if gets > 0 {
			err := c.readGetReply(func(k string, v []byte) {
				if k == sk && op != opSet {
					val, found = v, true
					return
				}
				for _, i := range local {
					if sks[i] == k {
						got[i] = v
					}
				}
			})
			if err != nil {
				return err
			}
		}
		if op != opDelete {
			return nil
		}
		l, err := c.line()
		if err != nil {
			return err
		}
		if bytes.Equal(l, []byte("DELETED")) || bytes.Equal(l, []byte("NOT_FOUND")) {
			return nil
		}
		if err := errorReply(l); err != nil {
			return err
		}
		return &protocolError{msg: "unexpected delete reply " + strconv.Quote(string(l))}
	})
	if werr := wait(); err == nil {
		err = werr
	}
	if err != nil {
		return nil, false, nil, err
	}
	if found && val == nil {
		val = []byte{}
	}
	return val, found, got, nil
}

// readExtra starts reading the extra keys that are not on server main
// into got, and returns the indexes of those that are (for the caller to
// read on main), the server keys of all, and a function that waits for
// the other servers' replies and returns their error.
func (s *Store) readExtra(ctx context.Context, main *server, extra []string, got [][]byte) (local []int, sks []string, wait func() error) {
	var others map[*server][]int
	sks = make([]string, len(extra))
	for i, k := range extra {
		sks[i] = s.serverKey(k)
		if sv := s.ring.serverFor(sks[i]); sv == main {
			local = append(local, i)
		} else {
			if others == nil {
				others = map[*server][]int{}
			}
			others[sv] = append(others[sv], i)
		}
	}
	if len(others) == 0 {
		return local, sks, func() error { return nil }
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for sv, idx := range others {
		keys := make([]string, len(idx))
		for j, i := range idx {
			keys[j] = sks[i]
		}
		wg.Go(func() {
			err := s.raw.getMulti(ctx, sv, keys, func(k string, v []byte) {
				for _, i := range idx {
					if sks[i] == k {
						got[i] = v
					}
				}
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	return local, sks, func() error {
		wg.Wait()
		return errors.Join(errs...)
	}
}

// writeGet writes a get command for the keys sks[i] of local, unflushed.
func (c *rawConn) writeGet(sks []string, local []int) {
	c.wr.WriteString("get")
	for _, i := range local {
		c.wr.WriteByte(' ')
		c.wr.WriteString(sks[i])
	}
	c.wr.WriteString("\r\n")
}

// readGetReply reads the reply of one get command, calling add with
// every value.
func (c *rawConn) readGetReply(add func(key string, value []byte)) error {
	for {
		l, err := c.line()
		if err != nil {
			return err
		}
		if bytes.Equal(l, []byte("END")) {
			return nil
		}
		k, size, err := parseValueLine(l)
		if err != nil {
			return err
		}
		v := make([]byte, size+2)
		if _, err := io.ReadFull(c.rd, v); err != nil {
			return err
		}
		if !bytes.HasSuffix(v, []byte("\r\n")) {
			return errors.New("memcached: corrupt get reply")
		}
		add(k, v[:size:size])
	}
}

// storedReply reads the reply of a set.
func (c *rawConn) storedReply() error {
	l, err := c.line()
	if err != nil {
		return err
	}
	if bytes.Equal(l, []byte("STORED")) {
		return nil
	}
	if err := errorReply(l); err != nil {
		return err
	}
	return &protocolError{msg: "unexpected set reply " + strconv.Quote(string(l))}
}
