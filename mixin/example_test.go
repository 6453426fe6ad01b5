package mixin_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"

	_ "modernc.org/sqlite"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/mixin"
)

// Book is a row of the books table. Embedding mixin.Cached gives it the
// cache methods; CacheID says what its identity is.
type Book struct {
	mixin.Cached[Book]
	ID     int64
	Slug   string
	Title  string
	Copies int
}

// CacheID returns the book's primary key.
func (b *Book) CacheID() any { return b.ID }

// ErrNoBook is the books' not-found error.
var ErrNoBook = errors.New("no such book")

// library keeps books in SQLite and caches them through the mixin.
type library struct {
	db     *sql.DB
	books  *mixin.Model[Book, int64]
	bySlug *mixin.Index[Book, int64, string]
}

func newLibrary(db *sql.DB, c *keyedcache.Cache) *library {
	l := &library{db: db}
	l.books = mixin.NewModel(l.loadBook, mixin.WithCache(c), mixin.WithNotFound(ErrNoBook))
	l.bySlug = mixin.NewIndex(l.books, "slug", func(b *Book) string { return b.Slug }, l.bookIDBySlug)
	return l
}

// loadBook is the slow thing: one SELECT by primary key.
func (l *library) loadBook(ctx context.Context, id int64) (*Book, error) {
	fmt.Println("  (SELECT book", id, "from the database)")
	b := new(Book)
	err := l.db.QueryRowContext(ctx, "SELECT id, slug, title, copies FROM books WHERE id = ?", id).
		Scan(&b.ID, &b.Slug, &b.Title, &b.Copies)
	return b, err // sql.ErrNoRows is a not-found answer
}

func (l *library) bookIDBySlug(ctx context.Context, slug string) (int64, error) {
	fmt.Println("  (SELECT the id of", slug, "from the database)")
	var id int64
	err := l.db.QueryRowContext(ctx, "SELECT id FROM books WHERE slug = ?", slug).Scan(&id)
	return id, err
}

// save writes a book back and tells the cache.
func (l *library) save(ctx context.Context, b *Book) error {
	if _, err := l.db.ExecContext(ctx, "UPDATE books SET slug = ?, title = ?, copies = ? WHERE id = ?",
		b.Slug, b.Title, b.Copies, b.ID); err != nil {
		return err
	}
	return l.books.Saved(ctx, b)
}

func Example() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	if _, err := db.Exec(`CREATE TABLE books (id INTEGER PRIMARY KEY, slug TEXT UNIQUE, title TEXT, copies INTEGER);
		INSERT INTO books VALUES (1, 'dune', 'Dune', 3)`); err != nil {
		log.Fatal(err)
	}
	c, err := keyedcache.Open("memory://")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	lib := newLibrary(db, c)

	fmt.Println("Find 1:")
	b, err := lib.books.Find(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(" ", b.Title, "under", b.CacheKey())
	fmt.Println("Find 1 again:")
	b, _ = lib.books.Find(ctx, 1)
	fmt.Println(" ", b.Title, b.Copies, "copies")

	fmt.Println("Lend one, save:")
	b.Copies--
	if err := lib.save(ctx, b); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Find dune:")
	b, _ = lib.bySlug.Find(ctx, "dune")
	fmt.Println(" ", b.Title, b.Copies, "copies")
	fmt.Println("Find dune again:")
	b, _ = lib.bySlug.Find(ctx, "dune")
	fmt.Println(" ", b.Title, b.Copies, "copies")

	fmt.Println("Find 9:")
	_, err = lib.books.Find(ctx, 9)
	fmt.Println(" ", errors.Is(err, ErrNoBook), err)
	fmt.Printf("%+v\n", lib.books.Stats())
	// Output:
	// Find 1:
	//   (SELECT book 1 from the database)
	//   Dune under Book::1
	// Find 1 again:
	//   Dune 3 copies
	// Lend one, save:
	// Find dune:
	//   (SELECT the id of dune from the database)
	//   (SELECT book 1 from the database)
	//   Dune 2 copies
	// Find dune again:
	//   Dune 2 copies
	// Find 9:
	//   (SELECT book 9 from the database)
	//   true no such book (Book::9)
	// {Model:Book Finds:5 Hits:2 Loads:4 NotFound:1 Shared:0 Errors:0 Discarded:0}
}
