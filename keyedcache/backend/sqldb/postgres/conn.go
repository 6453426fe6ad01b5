package postgres

import (
	"context"
	"net"
	"sync"
	"time"
)

// deadlineConn bounds every read and write of a connection to the server
// by the query timeout, so that a statement on a server that stopped
// answering ends by itself, without a context deadline of its own (see
// sqldb.Dialect.SelfBounded). A deadline set from outside — pgx sets one
// when a caller's context is done — stays in force: each read and write
// uses the earlier of the two.
type deadlineConn struct {
	net.Conn
	timeout time.Duration

	mu              sync.Mutex
	extRead, extWrt time.Time // deadlines set by SetDeadline and friends; zero: none
}

// earlier returns the earlier of now+timeout and ext (if set).
func (c *deadlineConn) earlier(ext time.Time) time.Time {
	dl := time.Now().Add(c.timeout)
	if !ext.IsZero() && ext.Before(dl) {
		return ext
	}
	return dl
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	err := c.Conn.SetReadDeadline(c.earlier(c.extRead))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	err := c.Conn.SetWriteDeadline(c.earlier(c.extWrt))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.extRead, c.extWrt = t, t
	return c.Conn.SetDeadline(t)
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.extRead = t
	return c.Conn.SetReadDeadline(t)
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.extWrt = t
	return c.Conn.SetWriteDeadline(t)
}

// dialer dials TCP or unix sockets as pgx's default dialer does (with
// keep-alives) and wraps the connection in a deadlineConn.
func dialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{KeepAlive: 5 * time.Minute}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &deadlineConn{Conn: c, timeout: timeout}, nil
	}
}
