package memcached

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// rawPool keeps this package's own connections, for the commands the
// gomemcache client does not send — meta get (remaining TTL), stats, the
// LRU crawler's metadump, pipelined deletes — and for multi-gets, which
// gomemcache runs in a goroutine per server even when every key is on
// one (a hand-off that doubled the latency of the multi-get the core
// makes before every operation; see bench/README.md). Their failures mark a
// server down, and their answers up, as the client's do, except for
// calls cut short by their context's deadline.
type rawPool struct {
	r       *ring
	timeout time.Duration
	maxIdle int // idle connections kept per server

	mu     sync.Mutex
	idle   map[*server][]*rawConn
	closed bool
}

type rawConn struct {
	s        *server
	nc       net.Conn
	rd       *bufio.Reader
	wr       *bufio.Writer
	ctxBound bool // the deadline is the context's
	num      [20]byte
}

func newRawPool(r *ring, timeout time.Duration, maxIdle int) *rawPool {
	return &rawPool{r: r, timeout: timeout, maxIdle: maxIdle, idle: map[*server][]*rawConn{}}
}

// errProtocol marks a reply that is an answer, not a broken connection:
// the connection can be used again.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "memcached: " + e.msg }

// with runs fn on a connection to s whose deadline is the sooner of
// ctx's and timeout from now (fn may move it on with c.deadline). A
// call cut short by ctx's deadline returns context.DeadlineExceeded and
// does not count against the server. A call that finds its pooled
// connection closed by the server (it restarted, or dropped idle
// connections) runs once more on a new one, after the other idle
// connections to that server are dropped too.
func (p *rawPool) with(ctx context.Context, s *server, timeout time.Duration, fn func(c *rawConn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.r.usable(s); err != nil {
		return err
	}
	for fresh := false; ; fresh = true {
		c, pooled, err := p.get(s, fresh)
		if err != nil {
			return err
		}
		c.deadline(ctx, timeout)
		err = fn(c)
		var pe *protocolError
		switch {
		case err == nil || errors.As(err, &pe):
			p.r.answered(s)
			p.put(c)
			return err
		case pooled && staleConn(err):
			c.nc.Close()
			p.closeIdle(s)
			continue
		case ctx.Err() != nil:
			err = ctx.Err()
		case isTimeout(err) && c.ctxBound:
			err = context.DeadlineExceeded
		case isTimeout(err):
			p.r.timedOut(s)
		}
		c.nc.Close()
		return err
	}
}

// deadline sets the connection's deadline to the sooner of ctx's and d
// from now, and notes which it was.
func (c *rawConn) deadline(ctx context.Context, d time.Duration) {
	dl := time.Now().Add(d)
	cd, ok := ctx.Deadline()
	c.ctxBound = ok && cd.Before(dl)
	if c.ctxBound {
		dl = cd
	}
	c.nc.SetDeadline(dl)
}

// get returns an idle connection to s, unless fresh is set, or a new
// one; pooled reports which.
func (p *rawPool) get(s *server, fresh bool) (c *rawConn, pooled bool, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, ErrClosed
	}
	if list := p.idle[s]; len(list) > 0 && !fresh {
		c := list[len(list)-1]
		p.idle[s] = list[:len(list)-1]
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	nc, err := p.r.dialServer(ctx, s)
	if err != nil {
		return nil, false, err
	}
	return &rawConn{s: s, nc: nc, rd: bufio.NewReader(nc), wr: bufio.NewWriter(nc)}, false, nil
}

func (p *rawPool) put(c *rawConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle[c.s]) >= p.maxIdle {
		c.nc.Close()
		return
	}
	p.idle[c.s] = append(p.idle[c.s], c)
}

// closeIdle closes the idle connections to the given servers, or to
// all when none is given.
func (p *rawPool) closeIdle(servers ...*server) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s, list := range p.idle {
		if len(servers) > 0 && !slices.Contains(servers, s) {
			continue
		}
		for _, c := range list {
			c.nc.Close()
		}
		delete(p.idle, s)
	}
}

// close closes the idle connections and keeps new ones from being made.
func (p *rawPool) close() {
	p.closeIdle()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// line reads one reply line without its "\r\n". The slice is valid until
// the next read.
func (c *rawConn) line() ([]byte, error) {
	l, err := c.rd.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("memcached: reply line too long")
		}
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(l, []byte("\n")), []byte("\r")), nil
}

// command sends one command line and flushes it.
func (c *rawConn) command(format string, args ...any) error {
	fmt.Fprintf(c.wr, format, args...)
	c.wr.WriteString("\r\n")
	return c.wr.Flush()
}

// errorReply turns an error line of the protocol into a protocolError,
// or returns nil for another line.
func errorReply(l []byte) error {
	for _, p := range []string{"ERROR", "CLIENT_ERROR", "SERVER_ERROR"} {
		if bytes.HasPrefix(l, []byte(p)) {
			return &protocolError{msg: string(l)}
		}
	}
	return nil
}

// getMulti reads keys, all on server s, with get commands of at most
// maxGetKeys keys each, pipelined, and calls add with each entry found.
func (p *rawPool) getMulti(ctx context.Context, s *server, keys []string, add func(key string, value []byte)) error {
	return p.with(ctx, s, p.timeout, func(c *rawConn) error {
		cmds := 0
		for rest := keys; len(rest) > 0; cmds++ {
			n := min(len(rest), maxGetKeys)
			c.wr.WriteString("get")
			for _, k := range rest[:n] {
				c.wr.WriteByte(' ')
				c.wr.WriteString(k)
			}
			c.wr.WriteString("\r\n")
			rest = rest[n:]
		}
		if err := c.wr.Flush(); err != nil {
			return err
		}
		for cmds > 0 {
			l, err := c.line()
			if err != nil {
				return err
			}
			if bytes.Equal(l, []byte("END")) {
				cmds--
				continue
			}
			key, size, err := parseValueLine(l)
			if err != nil {
				return err
			}
			v, err := readBody(c.rd, size)
			if err != nil {
				return err
			}
			if !bytes.HasSuffix(v, []byte("\r\n")) {
				return errors.New("memcached: corrupt get reply")
			}
			add(key, v[:size:size])
		}
		return nil
	})
}

// maxGetKeys is the most keys one get command asks for.
const maxGetKeys = 100

// maxItemSize is the largest value a server can hold: memcached's
// upper limit of its item size (-I), 1 GiB. A reply line that claims
// more is corrupt.
const maxItemSize = 1 << 30

// bodyChunk is the size up to which readBody allocates a value at once.
const bodyChunk = 1 << 20

// readBody reads a value of size bytes and the "\r\n" after it. Beyond
// bodyChunk it allocates as the bytes arrive, not at once what the reply
// line claims: a corrupt reply cannot make it allocate memory for bytes
// that never come.
func readBody(rd io.Reader, size int) ([]byte, error) {
	n := size + 2
	if n <= bodyChunk {
		v := make([]byte, n)
		if _, err := io.ReadFull(rd, v); err != nil {
			return nil, err
		}
		return v, nil
	}
	var buf bytes.Buffer
	buf.Grow(bodyChunk)
	if _, err := io.CopyN(&buf, rd, int64(n)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

// parseValueLine reads "VALUE <key> <flags> <bytes>[ <cas>]".
func parseValueLine(l []byte) (key string, size int, err error) {
	rest, ok := bytes.CutPrefix(l, []byte("VALUE "))
	if !ok {
		if err := errorReply(l); err != nil {
			return "", 0, err
		}
		return "", 0, fmt.Errorf("memcached: unexpected get reply %q", l)
	}
	k, rest, ok1 := bytes.Cut(rest, []byte(" "))
	_, rest, ok2 := bytes.Cut(rest, []byte(" ")) // flags
	n, _, _ := bytes.Cut(rest, []byte(" "))
	size, err = strconv.Atoi(string(n))
	if !ok1 || !ok2 || err != nil || size < 0 || size > maxItemSize {
		return "", 0, fmt.Errorf("memcached: bad get reply %q", l)
	}
	return string(k), size, nil
}
