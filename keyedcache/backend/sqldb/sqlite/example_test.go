package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/sqldb"
	"keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

// A cache in a SQLite file, through keyedcache: every process that opens
// the same file shares it.
func Example() {
	dir, err := os.MkdirTemp("", "app-cache")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	c, err := keyedcache.Open("sqlite://" + filepath.Join(dir, "cache.db") + "?max_entries=100000&timeout=3600")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	c.Set(ctx, c.Key("product", 123), "Widget")
	c.Set(ctx, c.Key("product", 123, "summary"), "A widget.")
	c.Set(ctx, c.Key("product", 1234), "Gadget")
	name, err := keyedcache.Get[string](ctx, c, "product", 123)
	fmt.Println(name, err)

	// Delete product::123 and its children, in one ranged DELETE.
	c.DeleteChildren(ctx, "product", 123)
	_, err = keyedcache.Get[string](ctx, c, "product", 123, "summary")
	fmt.Println(errors.Is(err, keyedcache.ErrNotCached))
	name, _ = keyedcache.Get[string](ctx, c, "product", 1234)
	fmt.Println(name)

	// Output:
	// Widget <nil>
	// true
	// Gadget
}

// The backend on its own: bytes under keys, with a TTL.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "app-cache")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := sqlite.Open(filepath.Join(dir, "cache.db"), sqldb.Options{MaxEntries: 1000})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	// Add stores only if the key is absent: of many processes, one wins.
	first, _ := s.Add(ctx, "lease::report", []byte("worker-1"), time.Minute)
	second, _ := s.Add(ctx, "lease::report", []byte("worker-2"), time.Minute)
	fmt.Println(first, second)

	s.Set(ctx, "hits", []byte("41"), backend.NoExpiry)
	n, _ := s.Incr(ctx, "hits", 1)
	fmt.Println(n)
	_, err = s.Incr(ctx, "missing", 1)
	fmt.Println(errors.Is(err, backend.ErrNotFound))

	// Output:
	// true false
	// 42
	// true
}

// Creating the table at deployment, as Django's createcachetable does;
// a cache also creates it on first use.
func Example_createTable() {
	dir, err := os.MkdirTemp("", "app-cache")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	url := "sqlite://" + filepath.Join(dir, "cache.db") + "?table=pages"
	if err := sqldb.CreateTable(context.Background(), url); err != nil {
		log.Fatal(err)
	}
	fmt.Println("created")

	err = sqldb.CreateTable(context.Background(), url+"&tabel=typo")
	var ce *backend.ConfigError
	fmt.Println(errors.As(err, &ce), ce.Param)

	// Output:
	// created
	// true tabel
}
