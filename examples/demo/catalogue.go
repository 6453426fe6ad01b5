package main

// The catalogue: products in a SQLite database, read through the cache
// with package mixin, with a request cache (package threaded) on every
// catalogue page.
//
//	/catalogue          every product, and the featured one on top
//	/catalogue/{slug}   one product, its related products, and a form
//	                    that saves a new name and price (POST)
//
// Each page says how many database queries it made: the first view of a
// product makes two (its id by slug, then its row), the next none; a save
// makes the next view load the row again, in every process sharing the
// cache.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/mixin"
	"keyedcache.dev/threaded"
)

// Product is a product of the catalogue: a row of the products table,
// cached through the mixin as Product::<id>.
type Product struct {
	mixin.Cached[Product]
	ID          int64
	Slug        string
	Name        string
	PriceCents  int64
	Description string
	Related     []int64 // ids of related products
}

// CacheID makes the product's primary key its identity.
func (p *Product) CacheID() any { return p.ID }

// Price is the price for people: 12.50.
func (p *Product) Price() string { return fmt.Sprintf("%d.%02d", p.PriceCents/100, p.PriceCents%100) }

// errNoProduct is the catalogue's not-found error.
var errNoProduct = errors.New("no such product")

const (
	// catalogueQueryDelay is added to every product query, standing in
	// for a database across a network; SQLite on a local file answers
	// in microseconds, which would hide what the cache saves.
	catalogueQueryDelay = 20 * time.Millisecond
	// catalogueFeaturedID is the product shown on top of every catalogue page.
	catalogueFeaturedID = 1
	// catalogueNotFoundTTL is how long "no such product" is cached.
	catalogueNotFoundTTL = 30 * time.Second
)

// catalogue serves the catalogue pages.
type catalogue struct {
	db       *sql.DB
	cache    *keyedcache.Cache
	products *mixin.Model[Product, int64]
	bySlug   *mixin.Index[Product, int64, string]
	delay    time.Duration
	log      *slog.Logger
}

// registerCatalogue opens (creating and filling, if new) the SQLite
// database at dbPath and mounts the catalogue on mux, caching through c.
// Every catalogue route runs with a request cache. The returned function
// closes the database.
func registerCatalogue(mux *http.ServeMux, c *keyedcache.Cache, dbPath string) (func() error, error) {
	cat, err := openCatalogue(c, dbPath, catalogueQueryDelay, slog.Default())
	if err != nil {
		return nil, err
	}
	cat.mount(mux)
	// The model's figures join the stats snapshot (expvar, staff page).
	keyedcache.RegisterStatsSource("models", func() any { return []mixin.Stats{cat.products.Stats()} })
	return cat.db.Close, nil
}

// mount registers the catalogue's routes, each behind threaded's
// middleware: within one request, a product read twice reaches the cache
// once. (If the whole server runs behind the middleware too, the two
// share one request cache.)
func (cat *catalogue) mount(mux *http.ServeMux) {
	mux.Handle("GET /catalogue", threaded.Middleware(http.HandlerFunc(cat.handleList)))
	mux.Handle("GET /catalogue/{slug}", threaded.Middleware(http.HandlerFunc(cat.handleProduct)))
	mux.Handle("POST /catalogue/{slug}", threaded.Middleware(http.HandlerFunc(cat.handleSave)))
}

func openCatalogue(c *keyedcache.Cache, dbPath string, delay time.Duration, log *slog.Logger) (*catalogue, error) {
	// WAL and a busy timeout let several demo processes share the file.
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	if err := createCatalogue(context.Background(), db); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalogue: %s: %w", dbPath, err)
	}
	cat := &catalogue{db: db, cache: c, delay: delay, log: log}
	cat.products = mixin.NewModel(cat.loadProduct,
		mixin.WithCache(c), mixin.WithNotFound(errNoProduct), mixin.WithNotFoundTTL(catalogueNotFoundTTL), mixin.WithLogger(log))
	cat.bySlug = mixin.NewIndex(cat.products, "slug", func(p *Product) string { return p.Slug }, cat.productIDBySlug)
	return cat, nil
}

// seedProducts fill a new catalogue: id, slug, name, price in cents,
// description, related ids.
var seedProducts = []struct {
	id                int64
	slug, name        string
	cents             int64
	description, rels string
}{
	{1, "red-kite", "Red kite", 2450, "A diamond kite in red ripstop that flies in the lightest breeze.", "2,3,4"},
	{2, "box-kite", "Box kite", 3900, "Hargrave's cells in blue and white; steady in a strong wind.", "1,5,6"},
	{3, "delta-kite", "Delta kite", 2900, "A wide delta with a long tail, for parks and beaches.", "1,4,7"},
	{4, "stunt-kite", "Stunt kite", 6900, "Two lines, quick turns, a figure eight in a second.", "3,8,1"},
	{5, "sled-kite", "Sled kite", 1900, "No spars to break: it packs into a pocket.", "2,6,1"},
	{6, "rokkaku", "Rokkaku", 5400, "A six-sided fighter kite from Japan, bowed for stability.", "5,9,2"},
	{7, "parafoil", "Parafoil", 8800, "Ram-air cells and no frame at all; pulls hard.", "3,10,4"},
	{8, "tetrahedral", "Tetrahedral kite", 12900, "Bell's design: many small cells, one big lift.", "4,2,6"},
	{9, "fighter-kite", "Indian fighter", 1200, "Paper and bamboo, for the festival sky.", "6,5,1"},
	{10, "reel", "Winding reel", 1500, "100 m of line on a wooden reel.", "7,1,3"},
}

func createCatalogue(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS products (
		id          INTEGER PRIMARY KEY,
		slug        TEXT NOT NULL UNIQUE,
		name        TEXT NOT NULL,
		price_cents INTEGER NOT NULL,
		description TEXT NOT NULL,
		related     TEXT NOT NULL DEFAULT ''
	)`); err != nil {
		return err
	}
	for _, p := range seedProducts {
		if _, err := db.ExecContext(ctx, "INSERT OR IGNORE INTO products VALUES (?, ?, ?, ?, ?, ?)",
			p.id, p.slug, p.name, p.cents, p.description, p.rels); err != nil {
			return err
		}
	}
	return nil
}

// cataloguePageCounts counts one request's database queries; loads shared with
// other requests count for the request that ran them.
type cataloguePageCounts struct{ queries atomic.Int64 }

type cataloguePageCountsKey struct{}

func withCataloguePageCounts(ctx context.Context) (context.Context, *cataloguePageCounts) {
	pc := &cataloguePageCounts{}
	return context.WithValue(ctx, cataloguePageCountsKey{}, pc), pc
}

// query counts a query for ctx's page and waits catalogueQueryDelay.
func (cat *catalogue) query(ctx context.Context) error {
	if pc, ok := ctx.Value(cataloguePageCountsKey{}).(*cataloguePageCounts); ok {
		pc.queries.Add(1)
	}
	t := time.NewTimer(cat.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loadProduct is the model's loader: one row by primary key.
func (cat *catalogue) loadProduct(ctx context.Context, id int64) (*Product, error) {
	if err := cat.query(ctx); err != nil {
		return nil, err
	}
	p := &Product{}
	var related string
	err := cat.db.QueryRowContext(ctx,
		"SELECT id, slug, name, price_cents, description, related FROM products WHERE id = ?", id).
		Scan(&p.ID, &p.Slug, &p.Name, &p.PriceCents, &p.Description, &related)
	if err != nil {
		return nil, err // sql.ErrNoRows: the model answers errNoProduct
	}
	for _, s := range strings.Split(related, ",") {
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			p.Related = append(p.Related, n)
		}
	}
	return p, nil
}

// productIDBySlug is the slug index's resolver.
func (cat *catalogue) productIDBySlug(ctx context.Context, slug string) (int64, error) {
	if err := cat.query(ctx); err != nil {
		return 0, err
	}
	var id int64
	err := cat.db.QueryRowContext(ctx, "SELECT id FROM products WHERE slug = ?", slug).Scan(&id)
	return id, err
}

// listKey is the cached list of product ids, in name order.
func (cat *catalogue) listKey() string { return cat.cache.Key("catalogue", "ids") }

// productIDs returns every product id in name order: from the cache, or
// one query stored for the next page.
func (cat *catalogue) productIDs(ctx context.Context) ([]int64, error) {
	ids, err := keyedcache.Get[[]int64](ctx, cat.cache, cat.listKey())
	var miss *keyedcache.NotCachedError
	if !errors.As(err, &miss) {
		return ids, err
	}
	if err := cat.query(ctx); err != nil {
		return nil, err
	}
	rows, err := cat.db.QueryContext(ctx, "SELECT id FROM products ORDER BY name, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cat.cache.Set(ctx, miss.Key, ids, keyedcache.TTL(10*time.Minute))
	return ids, nil
}

// save writes a product's name and price and resets what is cached
// about it. A cache failure after the write is logged: the row is saved,
// and the delete of the old copy is queued until the backend answers.
func (cat *catalogue) save(ctx context.Context, p *Product) error {
	if _, err := cat.db.ExecContext(ctx, "UPDATE products SET name = ?, price_cents = ? WHERE id = ?",
		p.Name, p.PriceCents, p.ID); err != nil {
		return err
	}
	err := cat.products.Saved(ctx, p)
	if _, e := cat.cache.Delete(ctx, cat.listKey()); e != nil { // names order the list
		err = errors.Join(err, e)
	}
	if err != nil {
		cat.log.Warn("catalogue: saved, but the cache was not reset", "product", p.ID, "err", err)
	}
	return nil
}
