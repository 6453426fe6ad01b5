package memcached

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The reply readers of the raw connections are fuzzed with what a
// broken or hostile server could send: each reply is served by an
// in-memory connection put in the pool, so nothing is dialled (a dial
// fails the test), and each reader must return a value or an error —
// never panic, hang or allocate what the reply only claims to hold.

// replyConn is a net.Conn that answers with a fixed reply and then fails
// every read with errReplyEnd, which is no sign of a stale connection:
// the pool does not retry on a new one.
type replyConn struct{ r *bytes.Reader }

var errReplyEnd = errors.New("fuzz: end of the reply")

func (c *replyConn) Read(p []byte) (int, error) {
	if c.r.Len() == 0 {
		return 0, errReplyEnd
	}
	return c.r.Read(p)
}
func (c *replyConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *replyConn) Close() error                     { return nil }
func (c *replyConn) LocalAddr() net.Addr              { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }
func (c *replyConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }
func (c *replyConn) SetDeadline(time.Time) error      { return nil }
func (c *replyConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replyConn) SetWriteDeadline(time.Time) error { return nil }

// replyStore returns a Store whose one server answers the next raw
// command with reply. Its dialer refuses every connection and fails t.
func replyStore(t *testing.T, reply []byte) (*Store, *server) {
	t.Helper()
	s, err := New(Options{Servers: []string{"/nonexistent/fuzz.sock"}, DownRetry: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.ring.dialer.ControlContext = func(context.Context, string, string, syscall.RawConn) error {
		t.Error("a fuzzed reply made the store dial")
		return errors.New("fuzz: no dialling")
	}
	sv := s.ring.servers[0]
	nc := &replyConn{r: bytes.NewReader(reply)}
	s.raw.idle[sv] = []*rawConn{{s: sv, nc: nc, rd: bufio.NewReader(nc), wr: bufio.NewWriter(nc)}}
	return s, sv
}

func FuzzReplies(f *testing.F) {
	for _, seed := range []string{
		"VALUE a 0 1\r\nx\r\nEND\r\n",
		"VALUE a 0 3 17\r\nabc\r\nVALUE b 5 0\r\n\r\nEND\r\n",
		"VALUE a 0 99999999999\r\n",
		"VALUE a 0 9223372036854775807\r\n",
		"VALUE a 0 -1\r\n",
		"VALUE a 0 2\r\nxyz\r\nEND\r\n",
		"VALUE  \r\nEND\r\n",
		"END\r\nEND\r\n",
		"SERVER_ERROR out of memory\r\n",
		"CLIENT_ERROR bad command line format\r\n",
		"ERROR\r\n",
		"HD t123\r\n",
		"HD t-1\r\n",
		"HD tx\r\n",
		"HD  f0 t\r\n",
		"EN\r\n",
		"STAT pid 1\r\nSTAT uptime 10\r\nSTAT version 1.6.21\r\nEND\r\n",
		"STAT x\r\nEND\r\n",
		"key=a%20b exp=-1 la=1 cas=2 fetch=no cls=1 size=63\r\nkey=b exp=1700000000\r\nEND\r\n",
		"key=%zz exp=1\r\nEND\r\n",
		"key=a exp=x\r\nEND\r\n",
		"BUSY currently processing crawler request\r\n",
		strings.Repeat("x", 5000) + "\r\n",
	} {
		f.Add([]byte(seed), uint8(2))
	}
	f.Fuzz(func(t *testing.T, reply []byte, nkeys uint8) {
		ctx := context.Background()

		// A multi-get of nkeys keys (more than maxGetKeys: two commands).
		s, sv := replyStore(t, reply)
		keys := make([]string, int(nkeys)%(2*maxGetKeys)+1)
		for i := range keys {
			keys[i] = "k" + string(rune('a'+i%26))
		}
		var sizes []int
		err := s.raw.getMulti(ctx, sv, keys, func(key string, v []byte) {
			// The key runs to the next space; lines end at "\n". (A
			// key the server should not have sent is no harm: GetMany
			// takes only the keys it asked for.)
			if strings.ContainsAny(key, " \n") {
				t.Errorf("getMulti: key %q holds a separator", key)
			}
			if len(v) > len(reply) {
				t.Errorf("getMulti: a value of %d bytes from a reply of %d", len(v), len(reply))
			}
			sizes = append(sizes, len(v))
		})
		if err == nil && !bytes.Contains(reply, []byte("END")) {
			t.Errorf("getMulti of %q: no error, though no END came", reply)
		}
		s.Close()

		// The remaining TTL of a key (meta get).
		s, sv = replyStore(t, reply)
		if err := s.raw.with(ctx, sv, s.timeout, func(c *rawConn) error {
			secs, found, err := c.metaTTL("k")
			if err != nil && (found || secs != 0) {
				t.Errorf("metaTTL of %q: %d, %v with error %v", reply, secs, found, err)
			}
			if found && !bytes.HasPrefix(reply, []byte("HD ")) {
				t.Errorf("metaTTL of %q: found", reply)
			}
			return err
		}); err == nil && len(reply) == 0 {
			t.Errorf("metaTTL of an empty reply: no error")
		}
		s.Close()

		// One server's stats.
		s, sv = replyStore(t, reply)
		st, err := s.serverStats(ctx, sv)
		if err == nil {
			for name := range st {
				if strings.ContainsAny(name, " \n") {
					t.Errorf("stats of %q: name %q", reply, name)
				}
			}
		}
		s.Close()

		// A key listing. A first line "BUSY" makes the dump wait and
		// retry on another connection: not a parse, skipped.
		if !bytes.HasPrefix(reply, []byte("BUSY")) {
			s, sv = replyStore(t, reply)
			err := s.dumpMode(ctx, sv, "hash", func(key string, exp int64) bool {
				if exp < 0 {
					t.Errorf("dump of %q: key %q expires at %d", reply, key, exp)
				}
				return true
			})
			_ = err
			s.Close()
		}

		// Each line alone, through the line parsers.
		for l := range bytes.SplitSeq(reply, []byte("\n")) {
			l = bytes.TrimSuffix(l, []byte("\r"))
			if key, size, err := parseValueLine(l); err == nil {
				if size < 0 || strings.Contains(key, " ") {
					t.Errorf("parseValueLine(%q) = %q, %d", l, key, size)
				}
			}
			if key, exp, err := parseDumpLine(l); err == nil {
				if exp < 0 {
					t.Errorf("parseDumpLine(%q) = %q, %d", l, key, exp)
				}
				// The key, escaped as the server escapes it, reads back.
				if again, _, err := parseDumpLine([]byte("key=" + url.PathEscape(key))); err != nil || again != key {
					t.Errorf("parseDumpLine(%q) = %q; escaped and read again: %q, %v", l, key, again, err)
				}
			}
		}
	})
}
