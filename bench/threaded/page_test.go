package threaded

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	_ "keyedcache.dev/keyedcache/backend/memcached"
	_ "keyedcache.dev/keyedcache/backend/redis"
	"keyedcache.dev/threaded"
)

// Product is the cached value: a small row.
type Product struct {
	ID    int64
	Name  string
	Price float64
	Tags  []string
}

const (
	numProducts    = 1000 // the keyspace; every key is cached (all hits)
	lookupsPerPage = 20
	distinctKeys   = 12 // so 8 of the 20 lookups (40%) repeat a key of the page
	numPages       = 1024
)

// pages are the workload: for each page, the product IDs it looks up in
// order — 12 distinct ones, 8 of them looked up a second time, shuffled.
var pages = func() [][]int {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([][]int, numPages)
	for p := range out {
		ids := r.Perm(numProducts)[:distinctKeys]
		page := append([]int(nil), ids...)
		for _, i := range r.Perm(distinctKeys)[:lookupsPerPage-distinctKeys] {
			page = append(page, ids[i])
		}
		r.Shuffle(len(page), func(i, j int) { page[i], page[j] = page[j], page[i] })
		out[p] = page
	}
	return out
}()

// server is a backend under test: how to start it (its URL, with
// timeouts long enough that a loaded machine does not turn hits into
// misses), and which of its own counters count the keys it was asked to
// read.
type server struct {
	name  string
	start func(b *testing.B) string
	reads func(st map[string]string) uint64
	// tracked says the server invalidates near copies itself (Redis
	// client tracking), so that a new process tier answers at once.
	tracked bool
}

var servers = []server{
	{
		name:    "redis",
		start:   func(b *testing.B) string { return "redis://" + testserver.Redis(b).Addr + "?read_timeout=5s" },
		reads:   func(st map[string]string) uint64 { return num(st["keyspace_hits"]) + num(st["keyspace_misses"]) },
		tracked: true,
	},
	{
		name:  "memcached",
		start: func(b *testing.B) string { return "memcached://" + testserver.Memcached(b).Addr + "?net_timeout=5s" },
		reads: func(st map[string]string) uint64 { return num(st["cmd_get"]) },
	},
}

func num(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// serverReads returns the server's count of key reads.
func serverReads(b *testing.B, c *keyedcache.Cache, srv server) uint64 {
	st, err := c.Backend().(backend.Statser).BackendStats(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return srv.reads(st)
}

func open(b *testing.B, url string) *keyedcache.Cache {
	c, err := keyedcache.Open(url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func fill(b *testing.B, c *keyedcache.Cache) {
	ctx := context.Background()
	for i := range numProducts {
		p := Product{ID: int64(i), Name: "Product " + strconv.Itoa(i), Price: float64(i) + 0.99, Tags: []string{"a", "b"}}
		if err := c.Set(ctx, c.Key("product", i), p); err != nil {
			b.Fatal(err)
		}
	}
}

func withNear(url string) string { return url + "&near_entries=10000&near_staleness=1s" }

// openNear opens a cache with a process tier on srv and, on a backend
// without a tracking server (memcached, file), waits keyedcache.NearWarmUp
// and a little more: until then a new tier answers nothing and keeps
// nothing (its presence marker must be seen by every writer first), so a
// timing that starts at once measures the backend, not the tier. The
// tier puts its marker at its first read, so the wait starts after one.
func openNear(b *testing.B, srv server, url string) *keyedcache.Cache {
	c := open(b, withNear(url))
	if !srv.tracked {
		keyedcache.Get[Product](context.Background(), c, "product", 0)
		time.Sleep(keyedcache.NearWarmUp + 250*time.Millisecond)
	}
	return c
}

// BenchmarkPage serves pages one after another; an op is one page.
func BenchmarkPage(b *testing.B) {
	for _, srv := range servers {
		b.Run("backend="+srv.name, func(b *testing.B) {
			url := srv.start(b)
			fill(b, open(b, url))
			for _, mode := range []struct {
				name    string
				request bool
				near    bool
			}{
				{"none", false, false},
				{"request", true, false},
				{"process", false, true},
				{"request+process", true, true},
			} {
				b.Run("tiers="+mode.name, func(b *testing.B) {
					var c *keyedcache.Cache
					if mode.near {
						c = openNear(b, srv, url)
					} else {
						c = open(b, url)
					}
					page := func(p []int) {
						ctx := context.Background()
						if mode.request {
							var release func()
							ctx, release = threaded.WithRequestCache(ctx)
							defer release()
						}
						for _, id := range p {
							v, err := keyedcache.Get[Product](ctx, c, "product", id)
							if err != nil || v.ID != int64(id) {
								b.Fatalf("product %d: %+v, %v", id, v, err)
							}
						}
					}
					for _, p := range pages[:64] {
						page(p)
					}
					for id := range numProducts { // the process tier, if any, holds every key
						keyedcache.Get[Product](context.Background(), c, "product", id)
					}
					before, st0 := serverReads(b, c, srv), c.Stats()
					b.ResetTimer()
					n := 0
					for b.Loop() {
						page(pages[n%numPages])
						n++
					}
					b.StopTimer()
					st := c.Stats()
					b.ReportMetric(float64(serverReads(b, c, srv)-before)/float64(n), "reads/page")
					b.ReportMetric(float64(st.RequestHits-st0.RequestHits)/float64(n), "request-hits/page")
					b.ReportMetric(float64(st.ProcessHits-st0.ProcessHits)/float64(n), "process-hits/page")
				})
			}
		})
	}
}
