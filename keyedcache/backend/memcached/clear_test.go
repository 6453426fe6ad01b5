package memcached_test

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// TestClearKeepsOtherKeys checks the backend's own Clear: it deletes the
// keys under its namespace, on every server, and nothing else; with no
// namespace it refuses and deletes nothing.
func TestClearKeepsOtherKeys(t *testing.T) {
	s1, s2 := startServer(t), startServer(t)
	servers := []string{s1.Addr, s2.Addr}
	ctx := ctxFor(t)
	mine := newStore(t, memcached.Options{Servers: servers, Namespace: "mine:"})
	theirs := newStore(t, memcached.Options{Servers: servers, Namespace: "theirs:"})
	bare := newStore(t, memcached.Options{Servers: servers})
	raw := memcache.New(s1.Addr)
	defer raw.Close()

	keys := []string{"a", "b::c", "with space", strings.Repeat("long", 100)}
	for _, k := range keys {
		for _, s := range []*memcached.Store{mine, theirs, bare} {
			if err := s.Set(ctx, k, []byte("v"), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := raw.Set(&memcache.Item{Key: "mine", Value: []byte("another program's")}); err != nil {
		t.Fatal(err)
	}

	err := bare.Clear(ctx)
	if !errors.Is(err, backend.ErrNotSupported) {
		t.Fatalf("Clear without a namespace = %v, want an error matching ErrNotSupported", err)
	}
	for _, k := range keys {
		if _, found, _ := bare.Get(ctx, k); !found {
			t.Fatalf("a refused Clear deleted %q", k)
		}
	}

	if err := mine.Clear(ctx); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	for _, k := range keys {
		if _, found, _ := mine.Get(ctx, k); found {
			t.Errorf("%q survived Clear of its namespace", k)
		}
		for name, s := range map[string]*memcached.Store{"theirs": theirs, "bare": bare} {
			if _, found, _ := s.Get(ctx, k); !found {
				t.Errorf("Clear of another namespace deleted %s's %q", name, k)
			}
		}
	}
	if _, err := raw.Get("mine"); err != nil {
		t.Errorf("Clear deleted another program's key: %v", err)
	}
}

// TestCoreClearAndDeleteChildren checks what the core builds on top: on
// memcached, delete-with-children and Clear of an alias with a key
// prefix go through namespace generations and hide only that alias's
// keys; Clear of an alias with neither key prefix nor namespace fails
// and loses nothing.
func TestCoreClearAndDeleteChildren(t *testing.T) {
	srv := startServer(t)
	ctx := ctxFor(t)
	store := newStore(t, memcached.Options{Servers: []string{srv.Addr}})
	quiet := keyedcache.WithLogger(slog.New(slog.DiscardHandler))
	mk := func(alias, prefix string) *keyedcache.Cache {
		opts := []keyedcache.Option{keyedcache.WithAlias(alias), quiet}
		if prefix != "" {
			opts = append(opts, keyedcache.WithKeyPrefix(prefix))
		}
		c, err := keyedcache.New(store, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	app, other, plain := mk("app", "app"), mk("other", "other"), mk("plain", "")
	for _, c := range []*keyedcache.Cache{app, other, plain} {
		for _, k := range []string{"product::1", "product::1::summary", "product::12"} {
			if err := c.Set(ctx, k, c.Alias()+" "+k); err != nil {
				t.Fatal(err)
			}
		}
	}
	hit := func(c *keyedcache.Cache, key string) bool {
		v, err := keyedcache.Get[string](ctx, c, key)
		if err == nil && v != c.Alias()+" "+key {
			t.Fatalf("%s: %s = %q", c.Alias(), key, v)
		}
		return err == nil
	}

	if err := app.DeleteChildren(ctx, "product", 1); err != nil {
		t.Fatal(err)
	}
	if hit(app, "product::1") || hit(app, "product::1::summary") || !hit(app, "product::12") {
		t.Fatal("DeleteChildren(product, 1) did not remove exactly product::1 and its children")
	}
	if !hit(other, "product::1") || !hit(plain, "product::1::summary") {
		t.Fatal("DeleteChildren in one alias removed another alias's keys")
	}

	// Entries are stored under their own keys: another program's value
	// under a key of the alias is hidden from the alias (it carries no
	// stamp), and Clear, which replaces the alias's token, leaves it.
	raw := memcache.New(srv.Addr)
	defer raw.Close()
	if err := raw.Set(&memcache.Item{Key: "app::product::1", Value: []byte("another program's")}); err != nil {
		t.Fatal(err)
	}
	if hit(app, "product::1") {
		t.Fatal("another program's value under app::product::1 was served to app")
	}
	if err := app.Clear(ctx); err != nil {
		t.Fatalf("Clear of an alias with a key prefix: %v", err)
	}
	if hit(app, "product::12") {
		t.Fatal("Clear left a key of its alias")
	}
	for _, c := range []*keyedcache.Cache{other, plain} {
		for _, k := range []string{"product::1", "product::1::summary", "product::12"} {
			if !hit(c, k) {
				t.Fatalf("Clear of app hid %s's %s", c.Alias(), k)
			}
		}
	}
	if it, err := raw.Get("app::product::1"); err != nil || string(it.Value) != "another program's" {
		t.Fatalf("Clear of app touched another program's key: %v", err)
	}

	if err := plain.Clear(ctx); !errors.Is(err, backend.ErrNotSupported) {
		t.Fatalf("Clear of an alias with no key prefix on a store with no namespace = %v, want ErrNotSupported", err)
	}
	if !hit(plain, "product::12") || !hit(other, "product::12") {
		t.Fatal("a refused Clear lost keys")
	}
}

// TestEvictedTokenNeverRevives checks the property that makes namespace
// generations safe on memcached, which evicts what it likes: when the
// token of a prefix disappears, the entries written under it stay
// hidden, and later writes draw a new token.
func TestEvictedTokenNeverRevives(t *testing.T) {
	srv := startServer(t)
	ctx := ctxFor(t)
	store := newStore(t, memcached.Options{Servers: []string{srv.Addr}})
	c, err := keyedcache.New(store, keyedcache.WithKeyPrefix("app"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, c.Key("product", 1, "a"), "v1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteChildren(ctx, "product", 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, c.Key("product", 1, "a"), "v2"); err != nil {
		t.Fatal(err)
	}
	// Evict every token under product::1, as memcached's LRU might.
	var tokens []string
	for _, k := range serverKeys(t, srv.Addr) {
		if strings.HasPrefix(k, "%gen") && strings.Contains(k, "product::1") {
			tokens = append(tokens, k)
		}
	}
	if len(tokens) == 0 {
		t.Fatalf("no generation token on the server; keys: %q", serverKeys(t, srv.Addr))
	}
	slices.Sort(tokens)
	for _, k := range tokens {
		if _, err := store.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := keyedcache.Get[string](ctx, c, "product", 1, "a"); err == nil {
		t.Fatalf("after its tokens were evicted, product::1::a came back as %q", v)
	}
	if err := c.Set(ctx, c.Key("product", 1, "a"), "v3"); err != nil {
		t.Fatal(err)
	}
	if v, err := keyedcache.Get[string](ctx, c, "product", 1, "a"); err != nil || v != "v3" {
		t.Fatalf("a write after the eviction reads back %q, %v; want v3", v, err)
	}
}
