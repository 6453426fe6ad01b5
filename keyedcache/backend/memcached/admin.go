package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// TTL returns the remaining time to live of key, read with the meta get
// command (memcached 1.6 or later): the time the entry is sure to live,
// never more than the ttl it was written with (see secondsLeft), at
// least a millisecond for an entry in its last seconds. An entry with a
// ttl over 30 days, stored with an absolute expiry, is measured against
// this machine's clock (see absoluteExpiry), since the server's runs late.
func (s *Store) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if s.closed.Load() {
		return 0, false, ErrClosed
	}
	sk := s.serverKey(key)
	var secs, expiry int64
	found := false
	err := s.raw.with(ctx, s.ring.serverFor(sk), s.timeout, func(c *rawConn) (err error) {
		read := func() (int64, bool, error) { return c.metaTTL(sk) }
		if secs, found, err = read(); err != nil || !found || secs <= maxRelative {
			return err
		}
		expiry, secs, found, err = c.absoluteExpiry(read)
		return err
	})
	switch {
	case err != nil:
		return 0, false, wrap("ttl", err)
	case !found:
		return 0, false, nil
	case secs < 0:
		return backend.NoExpiry, true, nil
	}
	return secondsLeft(expiry, secs, time.Now()), true, nil
}

// metaTTL reads the seconds the server counts for key (-1: no expiry).
func (c *rawConn) metaTTL(sk string) (secs int64, found bool, err error) {
	if err := c.command("mg %s t", sk); err != nil {
		return 0, false, err
	}
	l, err := c.line()
	if err != nil {
		return 0, false, err
	}
	switch {
	case bytes.Equal(l, []byte("EN")):
		return 0, false, nil
	case bytes.HasPrefix(l, []byte("HD ")):
		for _, f := range bytes.Fields(l[3:]) {
			if f[0] == 't' {
				if secs, err = strconv.ParseInt(string(f[1:]), 10, 64); err != nil {
					return 0, false, &protocolError{msg: "bad meta get reply " + strconv.Quote(string(l))}
				}
				return secs, true, nil
			}
		}
	}
	if err := errorReply(l); err != nil {
		return 0, false, err
	}
	return 0, false, &protocolError{msg: "unexpected meta get reply " + strconv.Quote(string(l))}
}

// Ping asks every server for its version; it fails if one does not
// answer.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping", s.do(ctx, s.mc.Ping))
}

// BackendStats returns the servers' own statistics (the stats command).
// With one server the names are memcached's (curr_items, get_hits,
// bytes, evictions, …). With several, each server's figures are named
// "<address> <name>", and the counters that add up (items, bytes, hits,
// misses, evictions, connections, commands) are also summed under their
// plain names. "servers" is the number of servers and "servers_down" how
// many did not answer; a server that does not answer is no error unless
// none does.
func (s *Store) BackendStats(ctx context.Context) (map[string]string, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	out := map[string]string{"servers": strconv.Itoa(len(s.ring.servers))}
	sums := map[string]uint64{}
	down := 0
	var errs []error
	for _, sv := range s.ring.servers {
		st, err := s.serverStats(ctx, sv)
		if err != nil {
			down++
			errs = append(errs, err)
			continue
		}
		for k, v := range st {
			if len(s.ring.servers) == 1 {
				out[k] = v
				continue
			}
			out[sv.addr+" "+k] = v
			if summed[k] {
				n, _ := strconv.ParseUint(v, 10, 64)
				sums[k] += n
			}
		}
	}
	for k, n := range sums {
		out[k] = strconv.FormatUint(n, 10)
	}
	out["servers_down"] = strconv.Itoa(down)
	if down == len(s.ring.servers) {
		return out, wrap("stats", errors.Join(errs...))
	}
	return out, nil
}

// summed are the stats that are added up over the servers.
var summed = map[string]bool{
	"curr_items": true, "total_items": true, "bytes": true, "limit_maxbytes": true,
	"get_hits": true, "get_misses": true, "get_expired": true, "cmd_get": true, "cmd_set": true,
	"cmd_touch": true, "delete_hits": true, "delete_misses": true, "cas_hits": true, "cas_misses": true,
	"evictions": true, "expired_unfetched": true, "evicted_unfetched": true, "reclaimed": true,
	"curr_connections": true, "total_connections": true,
}

func (s *Store) serverStats(ctx context.Context, sv *server) (map[string]string, error) {
	st := map[string]string{}
	err := s.raw.with(ctx, sv, s.timeout, func(c *rawConn) error {
		if err := c.command("stats"); err != nil {
			return err
		}
		for {
			l, err := c.line()
			if err != nil {
				return err
			}
			if bytes.Equal(l, []byte("END")) {
				return nil
			}
			name, value, ok := bytes.Cut(bytes.TrimPrefix(l, []byte("STAT ")), []byte(" "))
			if !ok || !bytes.HasPrefix(l, []byte("STAT ")) {
				if err := errorReply(l); err != nil {
					return err
				}
				return fmt.Errorf("memcached: unexpected stats line %q", l)
			}
			st[string(name)] = string(value)
		}
	})
	return st, err
}

// errStop ends a dump early; the connection, in the middle of a reply,
// is then closed.
var errStop = errors.New("memcached: dump stopped")

// dump calls fn with every key the server's LRU crawler lists, with its
// expiry (Unix seconds, 0 for none). It walks the hash table ("lru_crawler
// metadump hash", memcached 1.6.9 and later), which sees every item
// once; on older servers it walks the LRUs ("metadump all"), which can
// miss items that move between LRUs while it runs or list one twice, and
// returns exact == false. fn returns false to stop the dump.
func (s *Store) dump(ctx context.Context, sv *server, fn func(key string, exp int64) bool) (exact bool, err error) {
	for _, mode := range []string{"hash", "all"} {
		err = s.dumpMode(ctx, sv, mode, fn)
		var pe *protocolError
		if mode == "hash" && errors.As(err, &pe) && !isBusy(err) {
			continue // an older server: walk the LRUs instead
		}
		return mode == "hash", err
	}
	return false, err
}

func isBusy(err error) bool {
	var pe *protocolError
	return errors.As(err, &pe) && strings.HasPrefix(pe.msg, "BUSY")
}

// dumpMode runs one metadump, retrying for a while when the crawler is
// busy with another.
func (s *Store) dumpMode(ctx context.Context, sv *server, mode string, fn func(string, int64) bool) error {
	for wait := 10 * time.Millisecond; ; wait *= 2 {
		timeout := s.dumpTimeout()
		err := s.raw.with(ctx, sv, timeout, func(c *rawConn) error {
			if err := c.command("lru_crawler metadump %s", mode); err != nil {
				return err
			}
			for first := true; ; first = false {
				c.deadline(ctx, timeout)
				l, err := c.line()
				if err != nil {
					return err
				}
				switch {
				case bytes.Equal(l, []byte("END")):
					return nil
				case first && bytes.HasPrefix(l, []byte("BUSY")):
					return &protocolError{msg: string(l)}
				case !bytes.HasPrefix(l, []byte("key=")):
					if err := errorReply(l); err != nil && first {
						return err
					}
					return fmt.Errorf("memcached: unexpected metadump line %q", l)
				}
				key, exp, err := parseDumpLine(l)
				if err != nil {
					return err
				}
				if !fn(key, exp) {
					return errStop
				}
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		})
		if !isBusy(err) || wait > time.Second {
			if err == errStop {
				return nil
			}
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// dumpTimeout bounds the wait for each line of a metadump: the crawler
// is a background thread that takes its time, and a slow dump is no sign
// of a server in trouble.
func (s *Store) dumpTimeout() time.Duration {
	return max(10*s.timeout, 5*time.Second)
}

// parseDumpLine reads "key=<uri-encoded key> exp=<unix time or -1> …".
func parseDumpLine(l []byte) (string, int64, error) {
	var key string
	var exp int64
	for _, f := range bytes.Fields(l) {
		name, value, _ := bytes.Cut(f, []byte("="))
		switch string(name) {
		case "key":
			k, err := url.PathUnescape(string(value))
			if err != nil {
				return "", 0, fmt.Errorf("memcached: bad key in metadump line %q", l)
			}
			key = k
		case "exp":
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil {
				return "", 0, fmt.Errorf("memcached: bad exp in metadump line %q", l)
			}
			exp = max(n, 0)
		}
	}
	return key, exp, nil
}

// ScanKeys calls fn with every live key under prefix, from a metadump of
// every server. complete is false when the listing may have missed keys:
// when a server did not answer (its error is returned too), when a
// server is older than memcached 1.6.9 (its LRU walk can miss keys that
// move while it runs), or when the namespace holds mapped keys (keys the
// server would have rejected, stored under a hash that cannot be read
// back). Keys written or deleted while the dump runs may or may not be
// listed. Each server's dump is read as it streams; fn runs on the
// calling goroutine.
func (s *Store) ScanKeys(ctx context.Context, prefix string, fn func(key string) bool) (complete bool, err error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	complete = true
	stopped := false
	var errs []error
	for _, sv := range s.ring.servers {
		if stopped {
			break
		}
		now := time.Now().Unix()
		seen := map[string]bool{}
		exact, err := s.dump(ctx, sv, func(sk string, exp int64) bool {
			if exp != 0 && exp <= now {
				return true
			}
			key, ok := strings.CutPrefix(sk, s.ns)
			if !ok {
				return true
			}
			if isMapped(sk) {
				complete = false
				return true
			}
			if !strings.HasPrefix(key, prefix) || seen[sk] {
				return true
			}
			seen[sk] = true
			if !fn(key) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			complete = false
			errs = append(errs, fmt.Errorf("%s: %w", sv.addr, err))
		}
		if !exact {
			complete = false
		}
	}
	return complete, wrap("scan keys", errors.Join(errs...))
}

// Clear deletes every key under the namespace, as a metadump of each
// server lists them, one delete each (pipelined). It never empties a
// server: without a namespace it deletes nothing and returns an error
// wrapping backend.ErrNotSupported, since every key on the servers may
// belong to another program (give the alias a key_prefix, which the core
// clears by itself, or the backend a namespace). Keys written while Clear
// runs may survive it. A server that does not answer makes Clear fail.
func (s *Store) Clear(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.ns == "" {
		return fmt.Errorf("memcached: Clear needs a namespace: without one it would empty servers that others may share (set key_prefix on the alias, or namespace on the memcached URL): %w", backend.ErrNotSupported)
	}
	var errs []error
	for _, sv := range s.ring.servers {
		var keys []string
		_, err := s.dump(ctx, sv, func(sk string, _ int64) bool {
			if strings.HasPrefix(sk, s.ns) {
				keys = append(keys, sk)
			}
			return true
		})
		if err == nil {
			err = s.deleteOn(ctx, sv, keys)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sv.addr, err))
		}
	}
	return wrap("clear", errors.Join(errs...))
}

// deleteOn deletes keys on one server, a batch per round trip.
func (s *Store) deleteOn(ctx context.Context, sv *server, keys []string) error {
	const batch = 256
	for len(keys) > 0 {
		n := min(batch, len(keys))
		err := s.raw.with(ctx, sv, s.timeout, func(c *rawConn) error {
			for _, k := range keys[:n] {
				c.wr.WriteString("delete ")
				c.wr.WriteString(k)
				c.wr.WriteString("\r\n")
			}
			if err := c.wr.Flush(); err != nil {
				return err
			}
			for range n {
				l, err := c.line()
				if err != nil {
					return err
				}
				if !bytes.Equal(l, []byte("DELETED")) && !bytes.Equal(l, []byte("NOT_FOUND")) {
					return fmt.Errorf("memcached: unexpected delete reply %q", l)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}
