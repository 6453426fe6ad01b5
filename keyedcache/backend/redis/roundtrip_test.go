package redis_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/internal/tcpcount"
	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
)

// TestRoundTrips counts, through a counting TCP proxy, the round trips
// that each operation makes to Redis, on the store and through the
// cache: docs/backends.md lists them. Each operation runs alone, after
// the connections are warm, so every figure is exact.
func TestRoundTrips(t *testing.T) {
	srv := testserver.Redis(t)
	p := tcpcount.New(t, srv.Addr)
	ctx := ctxFor(t)

	s := connected(t, open(t, patient("redis://"+p.Addr())))
	c, err := keyedcache.Open(patient("redis://"+p.Addr()), keyedcache.WithAlias("roundtrips"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var product struct{ Name string }
	// Warm up: open every connection the clients keep (rueidis opens
	// them as concurrent calls need them, with a handshake round trip),
	// and load the scripts (a first EVALSHA of a script the server does
	// not know costs one more round trip).
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			for j := range 20 {
				s.Get(ctx, fmt.Sprint("warm::", i, j))
				c.Get(ctx, &product, "warm", i, j)
			}
		})
	}
	wg.Wait()
	if err := c.Set(ctx, "warm::1", "x"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteChildren(ctx, "warm"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeletePrefix(ctx, "warm::"); err != nil {
		t.Fatal(err)
	}

	type op struct {
		name  string
		setup func() error // runs before counting
		run   func() error
		want  int64
	}
	set := func(key string) func() error {
		return func() error { return s.Set(ctx, key, []byte("v"), time.Minute) }
	}
	cacheSet := func(key string) func() error {
		return func() error { return c.Set(ctx, key, map[string]string{"Name": "n"}) }
	}
	ops := []op{
		{name: "Store.Get hit", setup: set("rt::1"), want: 1, run: func() error {
			_, found, err := s.Get(ctx, "rt::1")
			return wantFound(found, true, err)
		}},
		{name: "Store.Get miss", want: 1, run: func() error {
			_, found, err := s.Get(ctx, "rt::absent")
			return wantFound(found, false, err)
		}},
		{name: "Store.Set new key", want: 1, run: set("rt::new")},
		{name: "Store.Set existing key", setup: set("rt::2"), want: 1, run: set("rt::2")},
		{name: "Store.Delete", setup: set("rt::3"), want: 1, run: func() error {
			existed, err := s.Delete(ctx, "rt::3")
			return wantFound(existed, true, err)
		}},
		{name: "Store.DeletePrefix", setup: func() error {
			for _, k := range []string{"rt::4::a", "rt::4::b", "rt::4::c::d"} {
				if err := set(k)(); err != nil {
					return err
				}
			}
			return nil
		}, want: 1, run: func() error {
			n, err := s.DeletePrefix(ctx, "rt::4::")
			if err == nil && n != 3 {
				err = errors.New("did not delete 3 keys")
			}
			return err
		}},
		{name: "Cache Get hit", setup: cacheSet("product::1"), want: 1, run: func() error {
			return c.Get(ctx, &product, "product", 1)
		}},
		{name: "Cache Get miss", want: 1, run: func() error {
			if err := c.Get(ctx, &product, "product", 404); !errors.Is(err, keyedcache.ErrNotCached) {
				return errors.New("not a miss")
			}
			return nil
		}},
		{name: "Cache Set", want: 1, run: cacheSet("product::2")},
		{name: "Cache Delete", setup: cacheSet("product::3"), want: 1, run: func() error {
			existed, err := c.Delete(ctx, "product", 3)
			return wantFound(existed, true, err)
		}},
		// The core deletes the key's children by prefix, then the key.
		{name: "Cache DeleteChildren", setup: func() error {
			for _, k := range []string{"product::5", "product::5::summary", "product::5::price::eur"} {
				if err := cacheSet(k)(); err != nil {
					return err
				}
			}
			return nil
		}, want: 2, run: func() error { return c.DeleteChildren(ctx, "product", 5) }},
	}
	var mu sync.Mutex
	var trace []string
	p.Trace(func(conn int64, up, counted bool, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		dir := "<-"
		if up {
			dir = "->"
		}
		if counted {
			dir += " (new round trip)"
		}
		trace = append(trace, fmt.Sprintf("conn %d %s %q", conn, dir, data))
	})
	for _, o := range ops {
		if o.setup != nil {
			if err := o.setup(); err != nil {
				t.Fatalf("%s: setup: %v", o.name, err)
			}
		}
		var err error
		mu.Lock()
		trace = nil
		mu.Unlock()
		if n := p.Count(func() { err = o.run() }); err != nil {
			t.Errorf("%s: %v", o.name, err)
		} else if n != o.want {
			mu.Lock()
			t.Errorf("%s: %d round trips, want %d; the traffic:\n%s", o.name, n, o.want, strings.Join(trace, "\n"))
			mu.Unlock()
		}
	}
}

func wantFound(found, want bool, err error) error {
	if err == nil && found != want {
		err = errors.New("found is wrong")
	}
	return err
}
