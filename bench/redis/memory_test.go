package redis

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"keyedcache.dev/keyedcache/backend/redis"
)

// BenchmarkIndexMemory measures what the Store's index costs in server
// memory: b.N keys of 128-byte values written through the Store into one
// database, and the same keys written with plain SETs into another, and
// the difference in used_memory per key. Run it with a fixed count, such
// as -benchtime 100000x.
func BenchmarkIndexMemory(b *testing.B) {
	srv := startServer(b)
	ctx := context.Background()
	value := bytes.Repeat([]byte("v"), valueSize)
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
	key := func(i int) string { return "app::product::" + strconv.Itoa(i) + "::detail" }

	b.ResetTimer()
	m0 := used(rc)
	for i := range b.N {
		if err := rc.Do(ctx, rc.B().Set().Key(key(i)).Value(rueidis.BinaryString(value)).Px(time.Hour).Build()).Error(); err != nil {
			b.Fatal(err)
		}
	}
	m1 := used(rc)
	for i := range b.N {
		if err := s.Set(ctx, key(i), value, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	m2 := used(rc)
	b.StopTimer()
	plain := float64(m1-m0) / float64(b.N)
	indexed := float64(m2-m1) / float64(b.N)
	b.ReportMetric(plain, "plain-B/key")
	b.ReportMetric(indexed, "indexed-B/key")
	b.ReportMetric(indexed-plain, "index-B/key")
}
