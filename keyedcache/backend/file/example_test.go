package file_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/file"
)

func Example() {
	dir, err := os.MkdirTemp("", "app-cache")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Equivalent to the URL file://<dir>?max_entries=1000&cull_frequency=3.
	s, err := file.New(dir, file.Options{MaxEntries: 1000, CullFrequency: 3})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	s.Set(ctx, "site1::product::123", []byte("Widget"), time.Hour)
	v, found, _ := s.Get(ctx, "site1::product::123")
	fmt.Printf("%s %v\n", v, found)

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
	// Widget true
	// true false
	// 42
	// true
}
