package tcpcount

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
)

// lineServer answers "ok\n" to every line that ends in '?', says nothing
// to other lines, and writes "hello\n" unasked when a connection opens
// if greet is set.
func lineServer(t *testing.T, greet bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if greet {
					c.Write([]byte("hello\n"))
				}
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasSuffix(line, "?\n") {
						if _, err := c.Write([]byte("ok\n")); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, p *Proxy) *client {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

func (c *client) write(s string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) read(want string) {
	c.t.Helper()
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatal(err)
	}
	if line != want {
		c.t.Fatalf("read %q, want %q", line, want)
	}
}

func TestRoundTrips(t *testing.T) {
	p := New(t, lineServer(t, false))
	c := dial(t, p)

	if n := p.Count(func() { c.write("a?\n"); c.read("ok\n") }); n != 1 {
		t.Errorf("one request and its reply: %d round trips, want 1", n)
	}
	if n := p.Count(func() {
		c.write("a?\n")
		c.read("ok\n")
		c.write("b?\n")
		c.read("ok\n")
	}); n != 2 {
		t.Errorf("two requests, each after the previous reply: %d round trips, want 2", n)
	}
	if n := p.Count(func() {
		// Three writes of one pipeline: the server answers only the last.
		c.write("x\n")
		c.write("y\n")
		c.write("z?\n")
		c.read("ok\n")
	}); n != 1 {
		t.Errorf("a pipeline written in three writes: %d round trips, want 1", n)
	}
	if n := p.Count(func() { c.write("a?\nb?\nc?\n"); c.read("ok\n"); c.read("ok\n"); c.read("ok\n") }); n != 1 {
		t.Errorf("three requests in one write: %d round trips, want 1", n)
	}
	got := p.Counts()
	if got.BytesUp != int64(len("a?\nb?\nc?\n")) || got.BytesDown != 9 || got.Conns != 0 {
		t.Errorf("Counts after the last Count = %+v, want 9 bytes each way and no new connection", got)
	}
}

func TestConnectionsAddUp(t *testing.T) {
	p := New(t, lineServer(t, false))
	a, b := dial(t, p), dial(t, p)
	a.write("1?\n")
	a.read("ok\n")
	b.write("2?\n")
	b.read("ok\n")
	a.write("3?\n")
	a.read("ok\n")
	if got := p.Counts(); got.RoundTrips != 3 || got.Conns != 2 {
		t.Errorf("Counts = %+v, want 3 round trips on 2 connections", got)
	}
}

func TestUnaskedServerBytesCountNothing(t *testing.T) {
	p := New(t, lineServer(t, true))
	c := dial(t, p)
	c.read("hello\n")
	if n := p.RoundTrips(); n != 0 {
		t.Errorf("a greeting counted %d round trips, want 0", n)
	}
	c.write("a?\n")
	c.read("ok\n")
	if n := p.RoundTrips(); n != 1 {
		t.Errorf("after a greeting and one request: %d round trips, want 1", n)
	}
}

func TestCloseEndsConnections(t *testing.T) {
	p, err := Start(lineServer(t, false))
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	c.write("a?\n")
	c.read("ok\n")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Error("a connection through a closed proxy still reads")
	}
	if _, err := net.Dial("tcp", p.Addr()); err == nil {
		t.Error("a closed proxy still accepts")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseConnsKeepsListening(t *testing.T) {
	p := New(t, lineServer(t, false))
	c := dial(t, p)
	c.write("a?\n")
	c.read("ok\n")
	p.CloseConns()
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Error("a connection survived CloseConns")
	}
	d := dial(t, p)
	d.write("b?\n")
	d.read("ok\n")
}

func TestUnreachableTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := New(t, addr)
	c := dial(t, p)
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Error("a connection to an unreachable target stays open")
	}
}
