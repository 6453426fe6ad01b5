package mixin_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/mixin"
)

func mustFindSlug(t *testing.T, s *shop, slug string) *Product {
	t.Helper()
	p, err := s.bySlug.Find(context.Background(), slug)
	if err != nil {
		t.Fatalf("Find(%q): %v", slug, err)
	}
	return p
}

func TestIndexFind(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())

	if d := diffProduct(kite(), mustFindSlug(t, s, "red-kite")); d != "" {
		t.Errorf("first Find (-want +got):\n%s", d)
	}
	if r, l := s.resolves.Load(), s.loads.Load(); r != 1 || l != 1 {
		t.Errorf("resolves, loads = %d, %d; want 1, 1", r, l)
	}
	got := mustFindSlug(t, s, "red-kite")
	mustFind(t, s, 1) // the object is shared with Find by id
	if r, l := s.resolves.Load(), s.loads.Load(); r != 1 || l != 1 {
		t.Errorf("after hits: resolves, loads = %d, %d; want still 1, 1", r, l)
	}
	if got.CacheKey() != "Product::1" {
		t.Errorf("result not bound: %q", got.CacheKey())
	}
	if !c.IsCached(ctx, "Product.slug::red-kite") {
		t.Error("no index entry cached")
	}
	want := mixin.Stats{Model: "Product", Finds: 3, Hits: 2, Loads: 2}
	if st := s.products.Stats(); st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}

	// A save of the object is seen through the index.
	got.Price = 990
	s.update(t, got)
	if p := mustFindSlug(t, s, "red-kite"); p.Price != 990 {
		t.Errorf("price through the index after a save = %d, want 990", p.Price)
	}
}

func TestIndexSlugChange(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())
	p := mustFindSlug(t, s, "red-kite")

	p.Slug = "kite"
	s.update(t, p) // deletes the entry for "kite", not the one for "red-kite"
	if !c.IsCached(ctx, "Product.slug::red-kite") {
		t.Fatal("test premise: the old slug's entry should still be cached")
	}
	_, err := s.bySlug.Find(ctx, "red-kite")
	if !errors.Is(err, errNoProduct) {
		t.Errorf("Find(old slug) = %v, want not found", err)
	}
	var nf *mixin.NotFoundError
	if errors.As(err, &nf) && nf.Key != "Product.slug::red-kite" {
		t.Errorf("NotFoundError.Key = %q", nf.Key)
	}
	if got := mustFindSlug(t, s, "kite"); got.ID != 1 || got.Slug != "kite" {
		t.Errorf("Find(new slug) = %+v", got)
	}

	// Another product takes the old slug: found, not the first one.
	other := &Product{ID: 2, Slug: "red-kite", Name: "Red kite (print)", Price: 300}
	s.insert(t, other)
	if got := mustFindSlug(t, s, "red-kite"); got.ID != 2 {
		t.Errorf("Find(red-kite) = product %d, want 2", got.ID)
	}
}

func TestIndexDeletedObject(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())
	mustFindSlug(t, s, "red-kite")
	// Deleted behind the index's back: Forget by id only.
	if _, err := s.db.Exec("DELETE FROM products WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if err := s.products.Forget(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.bySlug.Find(ctx, "red-kite"); !errors.Is(err, errNoProduct) {
		t.Errorf("Find(slug of a deleted product) = %v, want not found", err)
	}
	if c.IsCached(ctx, "Product.slug::red-kite") {
		t.Error("the stale index entry was kept")
	}
}

func TestIndexNotFoundCached(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "", mixin.WithNotFoundTTL(time.Minute))
	for range 3 {
		if _, err := s.bySlug.Find(ctx, "red-kite"); !errors.Is(err, mixin.ErrNotFound) {
			t.Fatalf("Find = %v, want not found", err)
		}
	}
	if n := s.resolves.Load(); n != 1 {
		t.Errorf("resolves = %d, want 1: the not-found answer is cached", n)
	}
	s.insert(t, kite()) // Saved deletes the entry for the new row's slug
	if got := mustFindSlug(t, s, "red-kite"); got.ID != 1 {
		t.Errorf("Find after insert = %+v", got)
	}
}

func TestIndexOnceForConcurrentCallers(t *testing.T) {
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.setHook(func(context.Context, int64) {
		once.Do(func() { close(entered) })
		<-release
	})
	const callers = 50
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if p, err := s.bySlug.Find(context.Background(), "red-kite"); err != nil || p.ID != 1 {
				t.Errorf("Find = %+v, %v", p, err)
			}
		})
	}
	<-entered
	close(release)
	wg.Wait()
	if r, l := s.resolves.Load(), s.loads.Load(); r != 1 || l != 1 {
		t.Errorf("resolves, loads = %d, %d for %d concurrent Finds; want 1, 1", r, l, callers)
	}
}

func TestIndexResolverError(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.db.Close()
	for range 2 {
		_, err := s.bySlug.Find(ctx, "red-kite")
		if err == nil || errors.Is(err, mixin.ErrNotFound) {
			t.Fatalf("Find on a closed database = %v, want its error", err)
		}
	}
	if n := s.resolves.Load(); n != 2 {
		t.Errorf("resolves = %d, want 2: an error must not be cached", n)
	}
}
