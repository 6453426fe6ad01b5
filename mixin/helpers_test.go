package mixin_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	_ "modernc.org/sqlite"

	"keyedcache.dev/keyedcache"
	_ "keyedcache.dev/keyedcache/backend/file"
	"keyedcache.dev/mixin"
)

// Product is the model of the tests: a row of the products table.
type Product struct {
	mixin.Cached[Product]
	ID    int64
	Slug  string
	Name  string
	Price int64
	Tags  []string
}

// CacheID makes the product's id its identity.
func (p *Product) CacheID() any { return p.ID }

var errNoProduct = errors.New("no such product")

// ignoreHelper lets cmp compare products: the helper's binding is not
// part of a product's value.
var ignoreHelper = cmpopts.IgnoreUnexported(mixin.Cached[Product]{})

func diffProduct(want, got *Product) string { return cmp.Diff(want, got, ignoreHelper) }

// shop is a products table in a real SQLite database, with its model and
// slug index.
type shop struct {
	db       *sql.DB
	products *mixin.Model[Product, int64]
	bySlug   *mixin.Index[Product, int64, string]

	loads    atomic.Int64 // SELECTs by id
	resolves atomic.Int64 // SELECTs by slug

	mu       sync.Mutex
	afterRow func(ctx context.Context, id int64) // called inside load after the row is read
}

const schema = `CREATE TABLE IF NOT EXISTS products (
	id    INTEGER PRIMARY KEY,
	slug  TEXT NOT NULL UNIQUE,
	name  TEXT NOT NULL,
	price INTEGER NOT NULL,
	tags  TEXT NOT NULL DEFAULT ''
)`

// openDB opens (creating if needed) the SQLite database at path, in WAL
// mode with a busy timeout so that several processes can share it.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	return db
}

// openCache opens a cache by URL, closed at the end of the test.
func openCache(t testing.TB, url string) *keyedcache.Cache {
	t.Helper()
	c, err := keyedcache.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newShop returns a shop on a fresh database in t's temporary directory
// (or dbPath, if given), caching through c.
func newShop(t testing.TB, c *keyedcache.Cache, dbPath string, opts ...mixin.Option) *shop {
	t.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "shop.db")
	}
	s := &shop{db: openDB(t, dbPath)}
	opts = append([]mixin.Option{mixin.WithCache(c), mixin.WithNotFound(errNoProduct)}, opts...)
	s.products = mixin.NewModel(s.load, opts...)
	s.bySlug = mixin.NewIndex(s.products, "slug", func(p *Product) string { return p.Slug }, s.resolveSlug)
	return s
}

func (s *shop) load(ctx context.Context, id int64) (*Product, error) {
	s.loads.Add(1)
	p := &Product{}
	var tags string
	err := s.db.QueryRowContext(ctx, "SELECT id, slug, name, price, tags FROM products WHERE id = ?", id).
		Scan(&p.ID, &p.Slug, &p.Name, &p.Price, &tags)
	if err != nil {
		return nil, err // sql.ErrNoRows is a not-found answer
	}
	if tags != "" {
		p.Tags = strings.Split(tags, ",")
	}
	s.mu.Lock()
	hook := s.afterRow
	s.mu.Unlock()
	if hook != nil {
		hook(ctx, id)
	}
	return p, nil
}

func (s *shop) resolveSlug(ctx context.Context, slug string) (int64, error) {
	s.resolves.Add(1)
	var id int64
	err := s.db.QueryRowContext(ctx, "SELECT id FROM products WHERE slug = ?", slug).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNoProduct
	}
	return id, err
}

// setHook sets the function load calls after reading a row.
func (s *shop) setHook(fn func(ctx context.Context, id int64)) {
	s.mu.Lock()
	s.afterRow = fn
	s.mu.Unlock()
}

// insert stores a new row and tells the cache.
func (s *shop) insert(t testing.TB, p *Product) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, "INSERT INTO products (id, slug, name, price, tags) VALUES (?, ?, ?, ?, ?)",
		p.ID, p.Slug, p.Name, p.Price, strings.Join(p.Tags, ",")); err != nil {
		t.Fatal(err)
	}
	if err := s.products.Saved(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// update saves a changed row and tells the cache.
func (s *shop) update(t testing.TB, p *Product) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, "UPDATE products SET slug = ?, name = ?, price = ?, tags = ? WHERE id = ?",
		p.Slug, p.Name, p.Price, strings.Join(p.Tags, ","), p.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.products.Saved(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// remove deletes a row and tells the cache.
func (s *shop) remove(t testing.TB, p *Product) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, "DELETE FROM products WHERE id = ?", p.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.products.Deleted(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// kite is the first product of most tests.
func kite() *Product {
	return &Product{ID: 1, Slug: "red-kite", Name: "Red kite", Price: 1200, Tags: []string{"bird", "red"}}
}

// mustFind finds id and fails t on an error.
func mustFind(t testing.TB, s *shop, id int64) *Product {
	t.Helper()
	p, err := s.products.Find(context.Background(), id)
	if err != nil {
		t.Fatalf("Find(%d): %v", id, err)
	}
	return p
}
