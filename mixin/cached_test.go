package mixin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/mixin"
)

func TestCacheKey(t *testing.T) {
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	p := s.products.Bind(&Product{ID: 7})

	for _, tc := range []struct {
		got, want string
	}{
		{p.CacheKey(), "Product::7"},
		{p.CacheKey("summary"), "Product::7::summary"},
		{p.CacheKey("price", keyedcache.KV{"currency": "EUR"}), "Product::7::price::currency::EUR"},
		{p.CacheKey("a b"), "Product::7::a%20b"},
		{s.products.Key(7), "Product::7"},
		{s.products.Key(7, "summary"), "Product::7::summary"},
		{s.bySlug.Key("red-kite"), "Product.slug::red-kite"},
		// The same key as keyedcache builds from the parts, and as a
		// product passed as a part (an Identifier) gives.
		{c.Key("Product", 7, "summary"), "Product::7::summary"},
		{c.Key("Product", p, "summary"), "Product::7::summary"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
	if s.products.Name() != "Product" {
		t.Errorf("Name() = %q, want Product", s.products.Name())
	}
}

func TestCacheKeyNameAndPrefix(t *testing.T) {
	c := openCache(t, "memory://?key_prefix=site1&version=2")
	s := newShop(t, c, "", mixin.WithName("Item"))
	p := s.products.Bind(&Product{ID: 7})
	if got, want := p.CacheKey("summary"), "site1::v2::Item::7::summary"; got != want {
		t.Errorf("CacheKey = %q, want %q", got, want)
	}
	if got, want := s.bySlug.Key("x"), "site1::v2::Item.slug::x"; got != want {
		t.Errorf("index key = %q, want %q", got, want)
	}
	if s.products.Name() != "Item" {
		t.Errorf("Name() = %q, want Item", s.products.Name())
	}
}

func TestCacheSetGet(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	p := s.products.Bind(kite())

	if p.IsCached(ctx) {
		t.Fatal("IsCached before CacheSet")
	}
	_, err := p.CacheGet(ctx)
	var miss *keyedcache.NotCachedError
	if !errors.As(err, &miss) || miss.Key != "Product::1" {
		t.Fatalf("CacheGet before CacheSet: %v, want a miss of Product::1", err)
	}
	if err := p.CacheSet(ctx); err != nil {
		t.Fatal(err)
	}
	if !p.IsCached(ctx) {
		t.Fatal("not IsCached after CacheSet")
	}
	got, err := p.CacheGet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffProduct(kite(), got); d != "" {
		t.Errorf("CacheGet (-want +got):\n%s", d)
	}
	// A copy: changing it changes neither the cache nor p.
	got.Tags[0], got.Name = "changed", "changed"
	again, _ := p.CacheGet(ctx)
	if d := diffProduct(kite(), again); d != "" {
		t.Errorf("CacheGet after changing an earlier result (-want +got):\n%s", d)
	}
	if p.Tags[0] != "bird" {
		t.Errorf("p.Tags changed through a cached copy: %v", p.Tags)
	}
	// The copy is bound: its own methods work, on its own key.
	if got.CacheKey() != "Product::1" {
		t.Errorf("copy's CacheKey = %q", got.CacheKey())
	}

	// With parts: another entry of the same object.
	p.Name = "Red kite, 2nd edition"
	if err := p.CacheSet(ctx, "v2"); err != nil {
		t.Fatal(err)
	}
	v2, err := p.CacheGet(ctx, "v2")
	if err != nil || v2.Name != p.Name {
		t.Fatalf("CacheGet(v2) = %v, %v", v2, err)
	}
	v1, _ := p.CacheGet(ctx)
	if v1.Name != "Red kite" {
		t.Errorf("CacheGet() after CacheSet(v2) = %q, want the first version", v1.Name)
	}
}

func TestCacheDeleteWithChildren(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	p := s.products.Bind(&Product{ID: 7, Slug: "seven"})
	p70 := s.products.Bind(&Product{ID: 70, Slug: "seventy"})
	p.CacheSet(ctx)
	p70.CacheSet(ctx)
	c.Set(ctx, p.CacheKey("summary"), "a summary")
	c.Set(ctx, p.CacheKey("summary", "short"), "short")
	c.Set(ctx, p.CacheKey("reviews"), 12)
	c.Set(ctx, s.bySlug.Key("seven"), "an index entry")

	// With parts: that key and its children only.
	if err := p.CacheDelete(ctx, "summary"); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"Product::7": true, "Product::7::summary": false, "Product::7::summary::short": false,
		"Product::7::reviews": true, "Product::70": true, "Product.slug::seven": true,
	}
	checkCached(t, c, want)

	// Without parts: the object, everything under it, its index entry.
	if err := p.CacheDelete(ctx); err != nil {
		t.Fatal(err)
	}
	want["Product::7"], want["Product::7::reviews"], want["Product.slug::seven"] = false, false, false
	checkCached(t, c, want)
	if p.IsCached(ctx) {
		t.Error("IsCached after CacheDelete")
	}
}

func checkCached(t *testing.T, c *keyedcache.Cache, want map[string]bool) {
	t.Helper()
	for key, w := range want {
		if got := c.IsCached(context.Background(), key); got != w {
			t.Errorf("IsCached(%s) = %v, want %v", key, got, w)
		}
	}
}

func TestCacheReset(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	p := s.products.Bind(kite())
	p.CacheSet(ctx)
	c.Set(ctx, p.CacheKey("summary"), "old summary")

	p.Price = 1500
	if err := p.CacheReset(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := p.CacheGet(ctx)
	if err != nil || got.Price != 1500 {
		t.Fatalf("CacheGet after CacheReset = %+v, %v; want price 1500", got, err)
	}
	if c.IsCached(ctx, p.CacheKey("summary")) {
		t.Error("CacheReset kept a child entry of the old object")
	}
}

// mustPanic runs fn and returns the message it panicked with.
func mustPanic(t *testing.T, fn func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("did not panic")
		}
		msg = fmt.Sprint(r)
	}()
	fn()
	return ""
}

func TestUnboundAndCopiedPanic(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")

	loose := &Product{ID: 7}
	msg := mustPanic(t, func() { loose.CacheKey() })
	if !strings.Contains(msg, "not bound") || !strings.Contains(msg, "Model.Bind") {
		t.Errorf("unbound panic %q does not say what to do", msg)
	}
	mustPanic(t, func() { loose.CacheSet(ctx) })

	p := s.products.Bind(&Product{ID: 7})
	q := *p
	q.ID = 8
	msg = mustPanic(t, func() { q.CacheKey() })
	if !strings.Contains(msg, "copied") {
		t.Errorf("copy panic %q does not say the value was copied", msg)
	}
	// Bound, the copy keys by its own identity, and p is unchanged.
	s.products.Bind(&q)
	if q.CacheKey() != "Product::8" || p.CacheKey() != "Product::7" {
		t.Errorf("after Bind: copy %q, original %q", q.CacheKey(), p.CacheKey())
	}
	if s.products.Bind(nil) != nil {
		t.Error("Bind(nil) != nil")
	}
}

// PointerEmbedded embeds the helper by pointer, which copies would share.
type PointerEmbedded struct {
	*mixin.Cached[PointerEmbedded]
	ID int
}

func (p *PointerEmbedded) CacheID() any { return p.ID }

func TestNewModelRejectsPointerEmbedding(t *testing.T) {
	msg := mustPanic(t, func() {
		mixin.NewModel(func(context.Context, int) (*PointerEmbedded, error) { return nil, nil })
	})
	if !strings.Contains(msg, "by value") {
		t.Errorf("panic %q does not say to embed by value", msg)
	}
}

func TestCodecs(t *testing.T) {
	for _, codec := range []string{"cbor", "json", "gob"} {
		t.Run(codec, func(t *testing.T) {
			ctx := context.Background()
			c := openCache(t, "memory://?codec="+codec)
			s := newShop(t, c, "")
			s.insert(t, kite())

			p := s.products.Bind(kite())
			if err := p.CacheSet(ctx); err != nil {
				t.Fatalf("CacheSet: %v", err)
			}
			got, err := p.CacheGet(ctx)
			if err != nil {
				t.Fatalf("CacheGet: %v", err)
			}
			if d := diffProduct(kite(), got); d != "" {
				t.Errorf("CacheGet (-want +got):\n%s", d)
			}
			p.CacheDelete(ctx)
			mustFind(t, s, 1)
			found := mustFind(t, s, 1)
			if d := diffProduct(kite(), found); d != "" {
				t.Errorf("Find (-want +got):\n%s", d)
			}
			if n := s.loads.Load(); n != 1 {
				t.Errorf("loads = %d, want 1: the second Find should hit", n)
			}
			if st := c.Stats(); st.Errors != 0 {
				t.Errorf("cache errors = %d, want 0", st.Errors)
			}
		})
	}
}

func TestHelperAddsNothingToJSON(t *testing.T) {
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	b, err := json.Marshal(s.products.Bind(kite()))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ID":1,"Slug":"red-kite","Name":"Red kite","Price":1200,"Tags":["bird","red"]}`
	if string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
}

func TestAliases(t *testing.T) {
	ctx := context.Background()
	// An alias of the default registry, named for this test alone.
	if err := keyedcache.Configure(map[string]string{"mixin-test-catalogue": "memory://?key_prefix=cat"}); err != nil {
		t.Fatal(err)
	}
	load := func(context.Context, int64) (*Product, error) { return kite(), nil }
	byAlias := mixin.NewModel(load, mixin.WithAlias("mixin-test-catalogue"))
	if got := byAlias.Key(1); got != "cat::Product::1" {
		t.Errorf("WithAlias key = %q, want cat::Product::1", got)
	}
	if _, err := byAlias.Find(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cat, _ := keyedcache.Lookup("mixin-test-catalogue")
	if !cat.IsCached(ctx, "cat::Product::1") {
		t.Error("Find did not store in the alias's cache")
	}

	// No option: the default alias.
	byDefault := mixin.NewModel(load)
	if got, want := byDefault.Key(1), keyedcache.CacheKey("Product", 1); got != want {
		t.Errorf("default key = %q, want %q", got, want)
	}
	if c, _ := byDefault.Cache(); c != keyedcache.Default() {
		t.Error("default model does not use keyedcache.Default()")
	}

	// An alias nobody configured: errors name it, CacheKey panics.
	missing := mixin.NewModel(load, mixin.WithAlias("mixin-test-missing"))
	_, err := missing.Find(ctx, 1)
	if !errors.Is(err, keyedcache.ErrUnknownAlias) || !strings.Contains(err.Error(), "mixin-test-missing") {
		t.Errorf("Find on an unknown alias: %v", err)
	}
	mustPanic(t, func() { missing.Key(1) })
}
