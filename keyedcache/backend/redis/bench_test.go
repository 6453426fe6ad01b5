package redis_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"keyedcache.dev/internal/keyheap"
	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/redis"
)

// pageKeys is what the staff page asks for: a page of 50 and one more
// to tell whether another page follows; bigPageKeys is its largest page
// (limit=1000).
const (
	pageKeys    = 51
	bigPageKeys = 1001
)

// benchKey is the i-th key of a benchmark; zero-padded, so that byte
// order is the order of i.
func benchKey(i int) string { return fmt.Sprintf("bench::product::%07d", i) }

// BenchmarkScanKeysAfter reads a page of 51 keys, the first and one from
// the middle, and the first 1001 keys (page=big), out of stores holding
// from 10 to a million keys: way=sorted
// with ScanKeysAfter, way=scan the old way, one ScanKeys pass keeping the
// 51 smallest keys after the cursor (what the core does for a backend
// that lists in no order). Compare them with benchstat -col /way.
func BenchmarkScanKeysAfter(b *testing.B) {
	b.Run("single", func(b *testing.B) {
		srv := testserver.Redis(b)
		benchSizes(b, "redis://"+srv.Addr, rueidis.ClientOption{InitAddress: []string{srv.Addr}}, 10, 10_000, 1_000_000)
	})
	b.Run("cluster", func(b *testing.B) {
		cl := testserver.RedisCluster(b)
		benchSizes(b, "redis-cluster://"+strings.Join(cl.Addrs, ","), rueidis.ClientOption{InitAddress: cl.Addrs}, 10, 10_000, 100_000)
	})
}

// benchSizes loads each number of keys in turn into an emptied server
// and measures the pages.
func benchSizes(b *testing.B, url string, opt rueidis.ClientOption, sizes ...int) {
	c := raw(b, opt)
	s := connected(b, open(b, patient(url)))
	for _, n := range sizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			flush(b, c)
			load(b, s, n)
			for _, page := range []struct {
				name, after string
				start, keys int // the number of the page's first key, and how many it asks for
			}{
				{"first", "", 0, pageKeys},
				{"middle", benchKey(n / 2), n/2 + 1, pageKeys},
				{"big", "", 0, bigPageKeys},
			} {
				var want []string
				for i := page.start; i < min(page.start+page.keys, n); i++ {
					want = append(want, benchKey(i))
				}
				sorted := func() []string { return pageSorted(b, s, page.after, page.keys) }
				scan := func() []string { return pageScan(b, s, page.after, page.keys) }
				if got, old := sorted(), scan(); !slices.Equal(got, want) || !slices.Equal(old, want) {
					b.Fatalf("page %s: ScanKeysAfter lists %q, a ScanKeys pass %q; want %q", page.name, got, old, want)
				}
				for _, way := range []struct {
					name string
					page func() []string
				}{{"sorted", sorted}, {"scan", scan}} {
					b.Run("page="+page.name+"/way="+way.name, func(b *testing.B) {
						b.ReportAllocs()
						scripts := scriptCalls(b, c)
						for b.Loop() {
							way.page()
						}
						b.ReportMetric(float64(scriptCalls(b, c)-scripts)/float64(b.N), "scripts/op")
					})
				}
			}
		})
	}
}

// scriptCalls returns how many scripts the servers of c have run, from
// INFO commandstats: a page's scripts beyond the first round (one per
// shard) are the shards it had to read further, one round trip each.
func scriptCalls(b *testing.B, c rueidis.Client) int64 {
	var sum int64
	for addr, n := range c.Nodes() {
		info, err := n.Do(ctxFor(b), n.B().Info().Section("commandstats").Build()).ToString()
		if err != nil {
			b.Fatalf("INFO commandstats on %s: %v", addr, err)
		}
		for _, cmd := range []string{"cmdstat_evalsha:calls=", "cmdstat_eval:calls="} {
			if _, rest, ok := strings.Cut(info, cmd); ok {
				calls, _, _ := strings.Cut(rest, ",")
				n, err := strconv.ParseInt(calls, 10, 64)
				if err != nil {
					b.Fatalf("INFO commandstats on %s: %s%s", addr, cmd, calls)
				}
				sum += n
			}
		}
	}
	return sum
}

// load stores n keys without a TTL, 10,000 per SetMany.
func load(b *testing.B, s *redis.Store, n int) {
	const chunk = 10_000
	value := []byte("a value of some thirty bytes..")
	for lo := 0; lo < n; lo += chunk {
		items := make(map[string][]byte, chunk)
		for i := lo; i < min(lo+chunk, n); i++ {
			items[benchKey(i)] = value
		}
		if err := s.SetMany(ctxFor(b), items, backend.NoExpiry); err != nil {
			b.Fatalf("SetMany: %v", err)
		}
	}
}

// pageSorted reads a page of up to size keys with ScanKeysAfter.
func pageSorted(b *testing.B, s *redis.Store, after string, size int) []string {
	keys := make([]string, 0, size)
	if _, err := s.ScanKeysAfter(b.Context(), "bench::", after, func(k string) bool {
		keys = append(keys, k)
		return len(keys) < size
	}); err != nil {
		b.Fatal(err)
	}
	return keys
}

// pageScan reads a page the old way: every key under the prefix, keeping
// the size smallest after the cursor in a max-heap.
func pageScan(b *testing.B, s *redis.Store, after string, size int) []string {
	top := keyheap.NewSmallest(size)
	if _, err := s.ScanKeys(b.Context(), "bench::", func(k string) bool {
		if k > after {
			top.Offer(k)
		}
		return true
	}); err != nil {
		b.Fatal(err)
	}
	return top.Sorted()
}
