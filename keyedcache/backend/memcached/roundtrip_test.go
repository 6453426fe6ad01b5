package memcached_test

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// turnProxy forwards connections to a server and counts round trips:
// on each connection, every time the client sends after the server has
// answered (or sends first), one more. Pipelined commands sent in one
// go count once.
type turnProxy struct {
	ln    net.Listener
	turns atomic.Int64
}

func newTurnProxy(t *testing.T, target string) *turnProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &turnProxy{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			var mu sync.Mutex
			clientTurn := false // the client spoke last
			pipe := func(dst, src net.Conn, fromClient bool) {
				defer dst.Close()
				defer src.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						mu.Lock()
						if fromClient && !clientTurn {
							p.turns.Add(1)
						}
						clientTurn = fromClient
						mu.Unlock()
						if _, werr := dst.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil { // io.EOF or a closed connection
						return
					}
				}
			}
			wg.Go(func() { pipe(s, c, true) })
			wg.Go(func() { pipe(c, s, false) })
		}
	})
	return p
}

// TestRoundTrips counts the round trips the core makes per operation on
// memcached, through a counting proxy, for a key with parents
// ("app::product::N": the tokens of "app" and "app::product" are read
// with it).
func TestRoundTrips(t *testing.T) {
	srv := startServer(t)
	p := newTurnProxy(t, srv.Addr)
	store := newStore(t, memcached.Options{Servers: []string{p.ln.Addr().String()}})
	c, err := keyedcache.New(store, keyedcache.WithKeyPrefix("app"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	if err := c.Set(ctx, c.Key("product", 0), "warm"); err != nil { // draws the tokens
		t.Fatal(err)
	}
	if err := c.Set(ctx, c.Key("plain"), "warm"); err != nil { // opens the client's connection
		t.Fatal(err)
	}
	count := func(name string, want int64, op func() error) {
		t.Helper()
		before := p.turns.Load()
		if err := op(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := p.turns.Load() - before; got != want {
			t.Errorf("%s: %d round trips, want %d", name, got, want)
		}
	}
	var nc *keyedcache.NotCachedError
	count("Set", 1, func() error { return c.Set(ctx, c.Key("product", 1), "one") })
	count("Get hit", 1, func() error { _, err := keyedcache.Get[string](ctx, c, "product", 1); return err })
	count("Get miss", 1, func() error {
		if _, err := keyedcache.Get[string](ctx, c, "product", 2); !errors.As(err, &nc) {
			return errors.New("not a miss")
		}
		return nil
	})
	count("Set after a miss", 1, func() error { return c.Set(ctx, c.Key("product", 2), "two") })
	count("Delete", 1, func() error {
		if existed, err := c.Delete(ctx, "product", 2); err != nil || !existed {
			return errors.New("did not delete")
		}
		return nil
	})
	count("DeleteChildren", 2, func() error { return c.DeleteChildren(ctx, "product") })
	count("Get hidden by DeleteChildren", 1, func() error {
		if _, err := keyedcache.Get[string](ctx, c, "product", 1); !errors.As(err, &nc) {
			return errors.New("not a miss")
		}
		return nil
	})
	count("Set after DeleteChildren", 1, func() error { return c.Set(ctx, c.Key("product", 1), "again") })
	count("Get hit again", 1, func() error { _, err := keyedcache.Get[string](ctx, c, "product", 1); return err })
	count("Get of a key without parents", 1, func() error { _, err := keyedcache.Get[string](ctx, c, "plain"); return err })

	// A write under parents whose token another process replaced costs
	// a second round trip: the first write lands hidden.
	other, err := keyedcache.New(newStore(t, memcached.Options{Servers: []string{srv.Addr}}), keyedcache.WithKeyPrefix("app"))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.DeleteChildren(ctx, "product"); err != nil {
		t.Fatal(err)
	}
	count("Set after another process's DeleteChildren", 2, func() error { return c.Set(ctx, c.Key("product", 1), "third") })
	if v, err := keyedcache.Get[string](ctx, other, "product", 1); err != nil || v != "third" {
		t.Fatalf("the other process reads %q, %v; want third", v, err)
	}
}
