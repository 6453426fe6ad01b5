package memcached

import (
	"bytes"
	"context"
	"fmt"
	loadgen "keyedcache.dev/bench/internal/load"
	"strconv"
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

// rawKey returns the i-th key of the workload; keyedcache builds the
// same text from its key prefix and the parts "key", i.
func rawKey(i int) string { return prefix + "::key::" + strconv.Itoa(i%numKeys) }

// tokenKeys are three keys standing for the generation tokens the core
// reads before each operation on a key with three "::" parts.
var tokenKeys = []string{"%gen::bench", "%gen::bench::key", "%gen::bench::key::1"}

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
	return []contender{rawClient("raw", r64), rawClient("raw-idle2", raw(2)), st, kc, gens, gens1, storeGens1}
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

func BenchmarkGet(b *testing.B) {
	srv := testserver.Memcached(b)
	cs := contenders(b, srv.Addr)
	load(b, cs)
	for _, g := range goroutineCounts {
		for _, c := range cs {
			b.Run(fmt.Sprintf("g=%d/impl=%s", g, c.name), func(b *testing.B) { run(b, g, c.get) })
		}
	}
}

func BenchmarkSet(b *testing.B) {
	srv := testserver.Memcached(b)
	cs := contenders(b, srv.Addr)
	load(b, cs[3:4]) // the generation tokens
	for _, g := range goroutineCounts {
		for _, c := range cs {
			if c.set == nil {
				continue
			}
			b.Run(fmt.Sprintf("g=%d/impl=%s", g, c.name), func(b *testing.B) { run(b, g, c.set) })
		}
	}
}

// run calls op b.N times from g goroutines, each call with its index,
// and reports throughput (ops/s) and the p50 and p99 latency of a call
// (µs). It fails b on the first error op returns.
func run(b *testing.B, g int, op func(ctx context.Context, i int) error) {
	b.Helper()
	loadgen.Run(b, g, op, loadgen.Config{})
}
