package file

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

func BenchmarkSet(b *testing.B) {
	s, _ := New(b.TempDir(), Options{})
	defer s.Close()
	ctx := context.Background()
	v := make([]byte, 256)
	for i := 0; b.Loop(); i++ {
		if err := s.Set(ctx, fmt.Sprint("key-", i%1000), v, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s, _ := New(b.TempDir(), Options{})
	defer s.Close()
	ctx := context.Background()
	s.Set(ctx, "key", make([]byte, 256), 0)
	for b.Loop() {
		if _, ok, err := s.Get(ctx, "key"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkIncr(b *testing.B) {
	s, _ := New(b.TempDir(), Options{})
	defer s.Close()
	ctx := context.Background()
	s.Set(ctx, "n", []byte("0"), 0)
	for b.Loop() {
		if _, err := s.Incr(ctx, "n", 1); err != nil {
			b.Fatal(err)
		}
	}
}

// Two Stores on one directory contend for one key, as two processes do.
func BenchmarkIncrTwoStoresParallel(b *testing.B) {
	dir := b.TempDir()
	s1, _ := New(dir, Options{})
	s2, _ := New(dir, Options{})
	defer s1.Close()
	defer s2.Close()
	ctx := context.Background()
	s1.Set(ctx, "n", []byte("0"), 0)
	var next atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		s := s1
		if next.Add(1)%2 == 0 {
			s = s2
		}
		for pb.Next() {
			if _, err := s.Incr(ctx, "n", 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
