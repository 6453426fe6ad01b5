// Package tcpcount is a counting TCP proxy for tests: it listens on a
// free 127.0.0.1 port, forwards every connection to a target address,
// and counts the round trips that clients make through it.
//
// # What is counted
//
// A round trip is one request burst: on one connection, client-to-server
// bytes that arrive while the server has not answered since the last
// counted burst. Per connection the proxy keeps one flag, "waiting for a
// reply". Client bytes that arrive while the flag is clear count one round
// trip and set it; server bytes clear it. So
//
//   - a request and its reply is one round trip;
//   - a pipeline (several commands written before any reply is read, in one
//     write or many) is one round trip;
//   - a command sent only after the reply to the previous one is a second
//     round trip;
//   - server bytes nobody asked for (a push message, a greeting) count
//     nothing by themselves;
//   - round trips on different connections add up.
//
// The count of a burst is taken before its bytes are forwarded to the
// server, so once a client has read the reply to a request, that request
// is already counted: a test that runs one operation at a time and reads
// RoundTrips after it returns sees an exact figure. A client that writes
// without waiting for replies (fire-and-forget writes, or several
// goroutines pipelining on one connection) may be counted differently
// depending on timing; count such operations one at a time.
//
// Connection setup (a handshake such as HELLO or AUTH) counts like any
// other request; tests usually warm a client up and then call Reset.
package tcpcount

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// A Proxy forwards connections from its own loopback address to a target
// and counts round trips. Its methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	trips atomic.Int64
	conns atomic.Int64
	seq   atomic.Int64 // connections accepted, never reset
	up    atomic.Int64
	down  atomic.Int64

	trace atomic.Pointer[func(conn int64, up, counted bool, data []byte)]

	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Counts is a snapshot of a proxy's counters since it started or since
// the last Reset.
type Counts struct {
	// RoundTrips is the number of request bursts (see the package
	// documentation).
	RoundTrips int64
	// Conns is the number of client connections accepted.
	Conns int64
	// BytesUp and BytesDown are the bytes forwarded client to server and
	// server to client.
	BytesUp, BytesDown int64
}

// Start starts a proxy on a free 127.0.0.1 port that forwards to target
// ("host:port"). Close stops it.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, open: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// New starts a proxy to target for the test and closes it when the test
// ends; it fails the test if the proxy cannot listen.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := Start(target)
	if err != nil {
		t.Fatalf("tcpcount: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// Addr returns the proxy's "127.0.0.1:port", where clients connect.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// RoundTrips returns the round trips counted since Start or the last
// Reset.
func (p *Proxy) RoundTrips() int64 { return p.trips.Load() }

// Counts returns a snapshot of all counters.
func (p *Proxy) Counts() Counts {
	return Counts{
		RoundTrips: p.trips.Load(),
		Conns:      p.conns.Load(),
		BytesUp:    p.up.Load(),
		BytesDown:  p.down.Load(),
	}
}

// Reset sets all counters to zero. Open connections stay open; a
// connection that is waiting for a reply when Reset is called counts its
// next burst only after that reply.
func (p *Proxy) Reset() {
	p.trips.Store(0)
	p.conns.Store(0)
	p.up.Store(0)
	p.down.Store(0)
}

// Trace calls f with the bytes of every read the proxy forwards, up
// (client to server) or down, and whether a read up counted a round trip;
// conn numbers the connections from 1 in the order they were accepted.
// f runs on the proxy's goroutines and must not block. Trace(nil) stops.
// It is for finding out what a count is made of.
func (p *Proxy) Trace(f func(conn int64, up, counted bool, data []byte)) {
	if f == nil {
		p.trace.Store(nil)
		return
	}
	p.trace.Store(&f)
}

// Count resets the counters, runs f and returns the round trips f made.
func (p *Proxy) Count(f func()) int64 {
	p.Reset()
	f()
	return p.RoundTrips()
}

// CloseConns closes every open connection through the proxy (both sides)
// and keeps listening, as a network failure would.
func (p *Proxy) CloseConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.open {
		c.Close()
	}
}

// Close stops listening, closes every open connection and waits until
// the proxy's goroutines have ended.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// track registers c as open; it reports false (and closes c) once the
// proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.open[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go p.serve(c, p.seq.Add(1))
		p.conns.Add(1)
	}
}

func (p *Proxy) serve(client net.Conn, id int64) {
	defer p.wg.Done()
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)

	var waiting atomic.Bool // a burst was counted and no reply has come yet
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Server to client: any reply ends the burst. Clear the flag
		// before forwarding, so the client's next request (sent after
		// it reads this reply) starts a new round trip.
		pump(client, server, func(data []byte) {
			waiting.Store(false)
			p.down.Add(int64(len(data)))
			if f := p.trace.Load(); f != nil {
				(*f)(id, false, false, data)
			}
		})
		client.Close()
	}()
	// Client to server: count before forwarding, so the count is in
	// place before the server can answer.
	pump(server, client, func(data []byte) {
		counted := waiting.CompareAndSwap(false, true)
		if counted {
			p.trips.Add(1)
		}
		p.up.Add(int64(len(data)))
		if f := p.trace.Load(); f != nil {
			(*f)(id, true, counted, data)
		}
	})
	server.Close()
	<-done
}

// pump copies src to dst, calling seen with each read before writing it
// on.
func pump(dst io.Writer, src io.Reader, seen func(data []byte)) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			seen(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
