package redis

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"keyedcache.dev/keyedcache/backend/redis"
)

// BenchmarkIndexMemory measures what the Store's layout costs in server
// memory over plain SETs, on the workload of issue 14: b.N keys
// "product::N" with 21-byte values, written with plain SETs (PX) into one
// database and through the Store into another, and the used_memory each
// adds per key: plain-B/key, store-B/key, and their ratio store/plain.
// Run it with a fixed count, such as -benchtime 1000000x.
func BenchmarkIndexMemory(b *testing.B) {
	srv := startServer(b)
	ctx := context.Background()
	value := bytes.Repeat([]byte("v"), 21)
	used := func(c rueidis.Client) int64 {
		info, err := c.Do(ctx, c.B().Info().Section("memory").Build()).ToString()
		if err != nil {
			b.Fatal(err)
		}
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		b.Fatal("no used_memory in INFO")
		return 0
	}
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	s, err := redis.New(redis.Options{Addrs: []string{srv.Addr}, DB: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	key := func(i int) string { return "product::" + strconv.Itoa(i) }

	b.ResetTimer()
	m0 := used(rc)
	fill(b, b.N, func(i int) error {
		return rc.Do(ctx, rc.B().Set().Key(key(i)).Value(rueidis.BinaryString(value)).Px(time.Hour).Build()).Error()
	})
	m1 := used(rc)
	fill(b, b.N, func(i int) error { return s.Set(ctx, key(i), value, time.Hour) })
	m2 := used(rc)
	b.StopTimer()
	plain := float64(m1-m0) / float64(b.N)
	indexed := float64(m2-m1) / float64(b.N)
	b.ReportMetric(plain, "plain-B/key")
	b.ReportMetric(indexed, "store-B/key")
	b.ReportMetric(indexed/plain, "store/plain")
}

// fill calls set for 0..n-1 from 32 goroutines, and fails b on an error.
func fill(b *testing.B, n int, set func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := set(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
