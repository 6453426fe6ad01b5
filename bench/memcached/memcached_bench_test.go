package memcached

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// goroutineCounts are the numbers of concurrent callers measured.
var goroutineCounts = []int{1, 8, 64}

const (
	numKeys   = 10_000 // the keys read, all present
	valueSize = 128    // bytes per value
	prefix    = "bench"
	// netTimeout is the network timeout of every contender. The default
	// (250ms) is a production setting; on a 2-core machine shared with
	// other jobs, 64 goroutines starve long enough for a read to time
	// out although the reply is there, which would end the benchmark.
	netTimeout = 5 * time.Second
)

// rawKey returns the i-th key of the workload for the contenders that
// store raw values; keyedcache builds a key of the same length from its
// key prefix and the parts "key", i (under prefix, so that the two do
// not overwrite each other's values).
func rawKey(i int) string { return rawPrefix + "::key::" + strconv.Itoa(i%numKeys) }

const rawPrefix = "bencr"

// tokenKeys are the keys of the generation tokens of the parents of a
// workload key ("bench" and "bench::key"), which the core reads with
// every operation on it.
var tokenKeys = []string{"%gen::bench", "%gen::bench::key"}

// contender is one way of reading and writing the workload.
type contender struct {
	name string
	get  func(ctx context.Context, i int) error
	set  func(ctx context.Context, i int) error // nil: not measured
}

func contenders(b *testing.B, addr string) []contender {
	value := bytes.Repeat([]byte("v"), valueSize)
	check := func(v []byte, err error) error {
		if err == nil && len(v) != valueSize {
			err = fmt.Errorf("read %d bytes, want %d", len(v), valueSize)
		}
		return err
	}
	raw := func(idle int) *memcache.Client {
		c := memcache.New(addr)
		c.MaxIdleConns = idle
		c.Timeout = netTimeout
		b.Cleanup(func() { c.Close() })
		return c
	}
	rawClient := func(name string, c *memcache.Client) contender {
		return contender{
			name: name,
			get: func(_ context.Context, i int) error {
				it, err := c.Get(rawKey(i))
				if err != nil {
					return err
				}
				return check(it.Value, nil)
			},
			set: func(_ context.Context, i int) error {
				return c.Set(&memcache.Item{Key: rawKey(i), Value: value, Expiration: 3600})
			},
		}
	}
	r64 := raw(memcached.DefaultMaxIdleConns)
	gens := contender{
		name: "raw-gens",
		get: func(_ context.Context, i int) error {
			if _, err := r64.GetMulti(tokenKeys); err != nil {
				return err
			}
			it, err := r64.Get(rawKey(i))
			if err != nil {
				return err
			}
			return check(it.Value, nil)
		},
		set: func(_ context.Context, i int) error {
			if _, err := r64.GetMulti(tokenKeys); err != nil {
				return err
			}
			return r64.Set(&memcache.Item{Key: rawKey(i), Value: value, Expiration: 3600})
		},
	}

	// One round trip for the tokens and the value together: what the
	// core could do if an entry carried the hash of the tokens it was
	// written under, so that a read could check them after the fact.
	gens1 := contender{
		name: "raw-gens1",
		get: func(_ context.Context, i int) error {
			k := rawKey(i)
			items, err := r64.GetMulti(append(tokenKeys[:len(tokenKeys):len(tokenKeys)], k))
			if err != nil {
				return err
			}
			if len(items) != len(tokenKeys)+1 {
				return fmt.Errorf("multi-get found %d of %d keys", len(items), len(tokenKeys)+1)
			}
			return check(items[k].Value, nil)
		},
	}
	for _, k := range tokenKeys {
		if err := r64.Set(&memcache.Item{Key: k, Value: []byte("0123456789abcdef01234567")}); err != nil {
			b.Fatal(err)
		}
	}

	store, err := memcached.New(memcached.Options{Servers: []string{addr}, Timeout: netTimeout})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	st := contender{
		name: "store",
		get: func(ctx context.Context, i int) error {
			v, found, err := store.Get(ctx, rawKey(i))
			if err == nil && !found {
				err = fmt.Errorf("%s missed", rawKey(i))
			}
			return check(v, err)
		},
		set: func(ctx context.Context, i int) error { return store.Set(ctx, rawKey(i), value, time.Hour) },
	}

	storeGens1 := contender{
		name: "store-gens1",
		get: func(ctx context.Context, i int) error {
			k := rawKey(i)
			got, err := store.GetMany(ctx, append(tokenKeys[:len(tokenKeys):len(tokenKeys)], k))
			if err != nil {
				return err
			}
			if len(got) != len(tokenKeys)+1 {
				return fmt.Errorf("multi-get found %d of %d keys", len(got), len(tokenKeys)+1)
			}
			return check(got[k], nil)
		},
	}

	// The backend's own one-round-trip reads and writes of a key with
	// its parents' tokens, as the core sends them.
	storeWith := contender{
		name: "store-with",
		get: func(ctx context.Context, i int) error {
			v, found, _, err := store.GetWith(ctx, rawKey(i), tokenKeys)
			if err == nil && !found {
				err = fmt.Errorf("%s missed", rawKey(i))
			}
			return check(v, err)
		},
		set: func(ctx context.Context, i int) error {
			_, err := store.SetWith(ctx, rawKey(i), value, time.Hour, tokenKeys)
			return err
		},
	}

	c, err := keyedcache.Open("memcached://" + addr + "?key_prefix=" + prefix + "&timeout=3600&net_timeout=" + netTimeout.String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	kc := contender{
		name: "keyedcache",
		get: func(ctx context.Context, i int) error {
			return check(keyedcache.Get[[]byte](ctx, c, "key", i%numKeys))
		},
		set: func(ctx context.Context, i int) error {
			return c.Set(ctx, c.Key("key", i%numKeys), value)
		},
	}
	return []contender{rawClient("raw", r64), rawClient("raw-idle2", raw(2)), st, kc, gens, gens1, storeGens1, storeWith}
}

// load writes every key of the workload through each contender, so that
// every read hits and the generation tokens exist.
func load(b *testing.B, cs []contender) {
	ctx := context.Background()
	for _, c := range cs {
		if c.set == nil {
			continue
		}
		for i := range numKeys {
			if err := c.set(ctx, i); err != nil {
				b.Fatalf("%s: load: %v", c.name, err)
			}
		}
	}
}

// The contenders of the interleaved benchmarks, by name.
var (
	getContenders = []string{"raw", "store", "store-with", "keyedcache", "raw-gens1"}
	setContenders = []string{"raw", "store", "store-with", "keyedcache"}
)

// rounds is how many rounds one interleaved measurement runs; each
// round runs every contender in turn for b.N/rounds calls.
const rounds = 8

func BenchmarkGet(b *testing.B) {
	srv := testserver.Memcached(b)
	cs := contenders(b, srv.Addr)
	load(b, cs)
	for _, g := range goroutineCounts {
		b.Run(fmt.Sprintf("g=%d", g), func(b *testing.B) {
			interleave(b, g, pick(cs, getContenders), func(c contender) func(context.Context, int) error { return c.get })
		})
	}
}

func BenchmarkSet(b *testing.B) {
	srv := testserver.Memcached(b)
	cs := contenders(b, srv.Addr)
	load(b, cs[3:4]) // the generation tokens
	for _, g := range goroutineCounts {
		b.Run(fmt.Sprintf("g=%d", g), func(b *testing.B) {
			interleave(b, g, pick(cs, setContenders), func(c contender) func(context.Context, int) error { return c.set })
		})
	}
}

func pick(cs []contender, names []string) []contender {
	var out []contender
	for _, n := range names {
		for _, c := range cs {
			if c.name == n {
				out = append(out, c)
			}
		}
	}
	return out
}

// interleave measures the contenders (the first is the anchor) in
// rounds: each round runs every contender in turn, starting with a
// different one each round, for b.N/rounds calls from g goroutines. For
// each contender it reports its time per call over all rounds
// ("NAME-ns/op") and, for all but the anchor, the median over the
// rounds of its throughput relative to the anchor's in the same round
// ("NAME-x"; 1.0 is as fast as the anchor). Machine load that comes and
// goes then hits every contender of a round alike.
func interleave(b *testing.B, g int, cs []contender, op func(contender) func(context.Context, int) error) {
	per := max(b.N/rounds, g)
	total := make([]time.Duration, len(cs))
	ratios := make([][]float64, len(cs))
	b.ResetTimer()
	for r := range rounds {
		took := make([]time.Duration, len(cs))
		for j := range cs {
			i := (r + j) % len(cs)
			took[i] = block(b, g, per, r*per, op(cs[i]))
			total[i] += took[i]
		}
		for i := 1; i < len(cs); i++ {
			ratios[i] = append(ratios[i], float64(took[0])/float64(took[i]))
		}
	}
	b.StopTimer()
	for i, c := range cs {
		b.ReportMetric(float64(total[i].Nanoseconds())/float64(rounds*per), c.name+"-ns/op")
		if i > 0 {
			slices.Sort(ratios[i])
			b.ReportMetric(ratios[i][len(ratios[i])/2], c.name+"-x")
		}
	}
	b.ReportMetric(0, "ns/op")
}

// block calls op n times from g goroutines, with indexes from first on,
// and returns the time it took. It fails b on an error.
func block(b *testing.B, g, n, first int, op func(context.Context, int) error) time.Duration {
	ctx := context.Background()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	start := time.Now()
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() != nil {
					return
				}
				if err := op(ctx, first+i); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	return took
}
