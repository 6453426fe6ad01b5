package mixin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"keyedcache.dev/internal/testproc"
	_ "keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

// TestCrossProcess runs one product's life across two processes that
// share a SQLite database and a cache (a directory, or a SQLite cache
// file): what one process saves or deletes, the other reads at once, and
// what one loads, the other finds cached.
func TestCrossProcess(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(dir string) string
	}{
		{"file", func(dir string) string { return "file://" + filepath.Join(dir, "cache") }},
		// Under -race SQLite runs many times slower: a generous query
		// timeout keeps a busy moment from reading as an outage.
		{"sqlite", func(dir string) string { return "sqlite://" + filepath.Join(dir, "cache.db") + "?query_timeout=10s" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if role, ok := testproc.Role(); ok {
				crossProcessChild(t, role)
				return
			}
			dir := t.TempDir()
			dbPath, url := filepath.Join(dir, "shop.db"), tc.url(dir)
			s := newShop(t, openCache(t, url), dbPath)
			child := func(role string) {
				t.Helper()
				testproc.Start(t, role, "MIXIN_DB="+dbPath, "MIXIN_CACHE="+url).Wait(t)
			}

			s.insert(t, kite())
			mustFind(t, s, 1)
			child("read-cached") // finds product 1 in the cache, loads nothing

			p := mustFind(t, s, 1)
			p.Price = 990
			s.update(t, p)
			child("read-saved") // loads the saved row, and caches it
			if got := mustFind(t, s, 1); got.Price != 990 {
				t.Errorf("price = %d after the child read it, want 990", got.Price)
			}
			if n := s.loads.Load(); n != 1 {
				t.Errorf("parent loads = %d, want 1: the child's load should have been cached for it", n)
			}

			child("save") // price 770, slug red-kite → kite
			if got := mustFind(t, s, 1); got.Price != 770 || got.Slug != "kite" {
				t.Errorf("after the child's save: %+v, want price 770, slug kite", got)
			}
			ctx := context.Background()
			if _, err := s.bySlug.Find(ctx, "red-kite"); !errors.Is(err, errNoProduct) {
				t.Errorf("Find(old slug) after the child's save = %v, want not found", err)
			}
			if got := mustFindSlug(t, s, "kite"); got.ID != 1 {
				t.Errorf("Find(kite) = %+v", got)
			}

			child("delete")
			if _, err := s.products.Find(ctx, 1); !errors.Is(err, errNoProduct) {
				t.Errorf("Find after the child's delete = %v, want not found", err)
			}
			if _, err := s.bySlug.Find(ctx, "kite"); !errors.Is(err, errNoProduct) {
				t.Errorf("Find(kite) after the child's delete = %v, want not found", err)
			}
		})
	}
}

// crossProcessChild does one role's part of TestCrossProcess, failing t
// when what it reads is not what the parent arranged.
func crossProcessChild(t *testing.T, role string) {
	s := newShop(t, openCache(t, os.Getenv("MIXIN_CACHE")), os.Getenv("MIXIN_DB"))
	switch role {
	case "read-cached":
		if d := diffProduct(kite(), mustFind(t, s, 1)); d != "" {
			t.Errorf("child Find (-want +got):\n%s", d)
		}
		if n := s.loads.Load(); n != 0 {
			t.Errorf("child loads = %d, want 0: the parent's load is cached", n)
		}
		if got := mustFindSlug(t, s, "red-kite"); got.ID != 1 {
			t.Errorf("child Find(red-kite) = %+v", got)
		}
		if r, l := s.resolves.Load(), s.loads.Load(); r != 1 || l != 0 {
			t.Errorf("child resolves, loads = %d, %d; want 1, 0", r, l)
		}
	case "read-saved":
		if got := mustFind(t, s, 1); got.Price != 990 {
			t.Errorf("child sees price %d after the parent's save, want 990", got.Price)
		}
		if n := s.loads.Load(); n != 1 {
			t.Errorf("child loads = %d, want 1", n)
		}
	case "save":
		p := mustFind(t, s, 1)
		p.Price, p.Slug = 770, "kite"
		s.update(t, p)
	case "delete":
		s.remove(t, mustFind(t, s, 1))
	default:
		t.Fatalf("unknown role %q", role)
	}
}
