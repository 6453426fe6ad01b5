package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	_ "keyedcache.dev/keyedcache/backend/file"
	"keyedcache.dev/mixin"
)

// catalogueSite is the catalogue alone on a test server.
type catalogueSite struct {
	cat *catalogue
	ts  *httptest.Server
}

// newCatalogueSite serves the catalogue on a database at dbPath, through
// c. Queries wait a millisecond: nothing asserts on time.
func newCatalogueSite(t *testing.T, c *keyedcache.Cache, dbPath string) *catalogueSite {
	t.Helper()
	cat, err := openCatalogue(c, dbPath, time.Millisecond, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.db.Close() })
	mux := http.NewServeMux()
	cat.mount(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &catalogueSite{cat: cat, ts: ts}
}

// catalogueReply is a response: status, database queries, body.
type catalogueReply struct {
	status  int
	queries int
	body    string
}

func (s *catalogueSite) do(t *testing.T, req *http.Request) catalogueReply {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	q := -1
	if h := resp.Header.Get("X-DB-Queries"); h != "" {
		q, _ = strconv.Atoi(h)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		b = []byte("Location: " + loc)
	}
	return catalogueReply{resp.StatusCode, q, string(b)}
}

func (s *catalogueSite) get(t *testing.T, path string) catalogueReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.ts.URL+path, nil)
	return s.do(t, req)
}

func (s *catalogueSite) post(t *testing.T, path string, form url.Values) catalogueReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(t, req)
}

func openCatalogueCache(t *testing.T, url string) *keyedcache.Cache {
	t.Helper()
	c, err := keyedcache.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCatalogueList(t *testing.T) {
	s := newCatalogueSite(t, openCatalogueCache(t, "memory://"), filepath.Join(t.TempDir(), "catalogue.db"))

	first := s.get(t, "/catalogue")
	if first.status != http.StatusOK {
		t.Fatalf("GET /catalogue = %d\n%s", first.status, first.body)
	}
	for _, p := range seedProducts {
		if !strings.Contains(first.body, p.name) {
			t.Errorf("the list does not show %q", p.name)
		}
	}
	// The featured product, the id list, and every row: one query each;
	// the featured product's second read (in the list) is no query.
	if want := 1 + 1 + len(seedProducts) - 1; first.queries != want {
		t.Errorf("first view made %d queries, want %d", first.queries, want)
	}
	if got := s.cat.cache.Stats().RequestHits; got < 1 {
		t.Errorf("request-cache hits = %d, want the featured product's second read", got)
	}
	second := s.get(t, "/catalogue")
	if second.status != http.StatusOK || second.queries != 0 {
		t.Errorf("second view: status %d, %d queries; want 200, 0", second.status, second.queries)
	}
	if second.body == "" || !strings.Contains(second.body, "<code>Product::1</code>") {
		t.Errorf("the list does not show the cache keys:\n%s", second.body)
	}
}

func TestCatalogueProductSaveAndNotFound(t *testing.T) {
	s := newCatalogueSite(t, openCatalogueCache(t, "memory://"), filepath.Join(t.TempDir(), "catalogue.db"))

	first := s.get(t, "/catalogue/box-kite")
	if first.status != http.StatusOK || !strings.Contains(first.body, "39.00 €") {
		t.Fatalf("GET /catalogue/box-kite = %d\n%s", first.status, first.body)
	}
	// Slug → id, the row, three related rows, the featured row (related
	// already): 5 queries.
	if first.queries != 5 {
		t.Errorf("first view made %d queries, want 5", first.queries)
	}
	if again := s.get(t, "/catalogue/box-kite"); again.queries != 0 {
		t.Errorf("second view made %d queries, want 0", again.queries)
	}

	saved := s.post(t, "/catalogue/box-kite", url.Values{"name": {"Box kite (blue)"}, "price": {"41.5"}})
	if saved.status != http.StatusSeeOther || !strings.Contains(saved.body, "/catalogue/box-kite?saved=1") {
		t.Fatalf("POST = %d %s", saved.status, saved.body)
	}
	after := s.get(t, "/catalogue/box-kite?saved=1")
	if !strings.Contains(after.body, "Box kite (blue)") || !strings.Contains(after.body, "41.50 €") {
		t.Errorf("the page after saving does not show the new row:\n%s", after.body)
	}
	// The row again (its index entry was reset with it, so the slug too).
	if after.queries != 2 {
		t.Errorf("view after saving made %d queries, want 2", after.queries)
	}
	if list := s.get(t, "/catalogue"); !strings.Contains(list.body, "Box kite (blue)") {
		t.Error("the list does not show the new name")
	}

	missing := s.get(t, "/catalogue/no-such-kite")
	if missing.status != http.StatusNotFound || !strings.Contains(missing.body, "no-such-kite") {
		t.Errorf("GET a missing slug = %d\n%s", missing.status, missing.body)
	}
	if again := s.get(t, "/catalogue/no-such-kite"); again.status != http.StatusNotFound || again.queries != 0 {
		t.Errorf("second GET of a missing slug: %d, %d queries; want 404, 0 (cached)", again.status, again.queries)
	}
}

func TestCatalogueBadInput(t *testing.T) {
	s := newCatalogueSite(t, openCatalogueCache(t, "memory://"), filepath.Join(t.TempDir(), "catalogue.db"))
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"name": {""}, "price": {"10"}}, "name:"},
		{url.Values{"name": {strings.Repeat("x", 101)}, "price": {"10"}}, "name:"},
		{url.Values{"name": {"Kite"}, "price": {"-3"}}, "price:"},
		{url.Values{"name": {"Kite"}, "price": {"12.345"}}, "price:"},
		{url.Values{"name": {"Kite"}, "price": {"1e3"}}, "price:"},
		{url.Values{"name": {"Kite"}, "price": {"99999999"}}, "price:"},
	} {
		r := s.post(t, "/catalogue/red-kite", tc.form)
		if r.status != http.StatusBadRequest || !strings.HasPrefix(r.body, tc.want) {
			t.Errorf("POST %v = %d %q, want 400 naming %s", tc.form, r.status, r.body, tc.want)
		}
	}
	if r := s.post(t, "/catalogue/no-such-kite", url.Values{"name": {"Kite"}, "price": {"1"}}); r.status != http.StatusNotFound {
		t.Errorf("POST to a missing slug = %d, want 404", r.status)
	}
	if page := s.get(t, "/catalogue/red-kite"); !strings.Contains(page.body, "24.50 €") || !strings.Contains(page.body, "Red kite") {
		t.Errorf("bad input changed the product:\n%s", page.body)
	}
}

func TestParseEuros(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "12": 1200, "12.5": 1250, "12.05": 1205, " 7.99 ": 799, "1000000": 100_000_000} {
		if got, err := parseEuros(in); err != nil || got != want {
			t.Errorf("parseEuros(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".5", "5.", "1.234", "-1", "+1", "1,50", "abc", "1000000.01", "99999999999"} {
		if got, err := parseEuros(in); err == nil {
			t.Errorf("parseEuros(%q) = %d, want an error", in, got)
		}
	}
}

// Two catalogues on one database and one shared cache directory stand
// for two demo processes: a save in one is seen by the other at once.
func TestCatalogueSharedBetweenServers(t *testing.T) {
	dir := t.TempDir()
	dbPath, cacheURL := filepath.Join(dir, "catalogue.db"), "file://"+filepath.Join(dir, "cache")
	a := newCatalogueSite(t, openCatalogueCache(t, cacheURL), dbPath)
	b := newCatalogueSite(t, openCatalogueCache(t, cacheURL), dbPath)

	if r := a.get(t, "/catalogue/red-kite"); r.status != http.StatusOK || r.queries == 0 {
		t.Fatalf("first view on a: %d, %d queries", r.status, r.queries)
	}
	if r := b.get(t, "/catalogue/red-kite"); r.queries != 0 {
		t.Errorf("b's first view made %d queries, want 0: a's loads are in the shared cache", r.queries)
	}
	if r := a.post(t, "/catalogue/red-kite", url.Values{"name": {"Red kite"}, "price": {"19.99"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST on a = %d %s", r.status, r.body)
	}
	if r := b.get(t, "/catalogue/red-kite"); !strings.Contains(r.body, "19.99 €") {
		t.Errorf("b does not see a's save:\n%s", r.body)
	}
	// The mixin's change tokens are in the cache too, as every key is.
	if !b.cat.cache.IsCached(context.Background(), "Product::1::mixin::rev") {
		t.Error("no change token for the saved product")
	}
}

func TestRegisterCatalogue(t *testing.T) {
	mux := http.NewServeMux()
	closeDB, err := registerCatalogue(mux, openCatalogueCache(t, "memory://"), filepath.Join(t.TempDir(), "catalogue.db"))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/catalogue/red-kite", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Red kite") {
		t.Errorf("GET /catalogue/red-kite = %d\n%s", rec.Code, rec.Body.String())
	}
	models, ok := keyedcache.StatsSources()["models"].([]mixin.Stats)
	if !ok || len(models) != 1 || models[0].Model != "Product" || models[0].Finds == 0 {
		t.Errorf(`stats section "models" = %#v, want the Product model's figures`, keyedcache.StatsSources()["models"])
	}
	if err := closeDB(); err != nil {
		t.Errorf("close: %v", err)
	}

	_, err = registerCatalogue(http.NewServeMux(), openCatalogueCache(t, "memory://"), filepath.Join(t.TempDir(), "no", "such", "dir", "catalogue.db"))
	if err == nil || !strings.Contains(err.Error(), "catalogue.db") {
		t.Errorf("registerCatalogue on a path that cannot exist = %v, want an error naming it", err)
	}
}
