package redis

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/redis/rueidis"

	"keyedcache.dev/keyedcache"
	_ "keyedcache.dev/keyedcache/backend/redis"
)

// Product is the cached value: a typical row.
type Product struct {
	ID    int64
	Name  string
	Price float64
	Tags  []string
}

func product(i int) Product {
	return Product{ID: int64(i), Name: "Product " + strconv.Itoa(i), Price: float64(i%1000) + 0.99, Tags: []string{"red", "xl", "sale"}}
}

// BenchmarkCache measures CacheGet (a hit) and CacheSet through keyedcache
// on redis:// against the raw rueidis client sending the same bytes under
// the same keys, at 1, 8 and 64 goroutines, on one loopback redis-server.
// impl=keyedcache builds the key from parts, encodes or decodes the value
// (CBOR) and keeps stats; its Set also files the key in the index.
// impl=raw is a GET, or a SET with the same TTL, of the encoded bytes;
// impl=raw+codec also decodes or encodes the value with the same codec,
// which is what a program using the client by hand would do. The
// contenders run in interleaved rounds (see interleave).
func BenchmarkCache(b *testing.B) {
	srv := startServer(b)
	c, err := keyedcache.Open("redis://"+srv.Addr+"?key_prefix=bench", keyedcache.WithAlias("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()

	ctx := context.Background()
	parts := make([]string, numKeys) // the keys as a program passes them
	keys := make([]string, numKeys)  // the keys as stored
	values := make([]string, numKeys)
	products := make([]Product, numKeys)
	for i := range numKeys {
		parts[i] = "product::" + strconv.Itoa(i)
		products[i] = product(i)
		if err := c.Set(ctx, parts[i], products[i]); err != nil {
			b.Fatal(err)
		}
		keys[i] = c.Key(parts[i])
		v, err := rc.Do(ctx, rc.B().Get().Key(keys[i]).Build()).ToString()
		if err != nil {
			b.Fatalf("the key %s keyedcache wrote: %v", keys[i], err)
		}
		values[i] = v
	}
	ttl := keyedcache.DefaultTimeout
	warm(b, func(ctx context.Context, i int) error {
		return rc.Do(ctx, rc.B().Get().Key(keys[i%numKeys]).Build()).Error()
	})
	warm(b, func(ctx context.Context, i int) error {
		_, err := keyedcache.Get[Product](ctx, c, "product", i%numKeys)
		return err
	})

	gets := []contender{
		{"raw", func(ctx context.Context, i int) error {
			v, err := rc.Do(ctx, rc.B().Get().Key(keys[i%numKeys]).Build()).AsBytes()
			if err == nil && len(v) != len(values[i%numKeys]) {
				err = fmt.Errorf("read %d bytes, want %d", len(v), len(values[i%numKeys]))
			}
			return err
		}},
		{"raw+codec", func(ctx context.Context, i int) error {
			v, err := rc.Do(ctx, rc.B().Get().Key(keys[i%numKeys]).Build()).AsBytes()
			if err != nil {
				return err
			}
			var p Product
			if err := keyedcache.CBOR.Unmarshal(v[1:], &p); err != nil { // after keyedcache's codec tag
				return err
			}
			if p.ID != int64(i%numKeys) {
				return fmt.Errorf("read product %d, want %d", p.ID, i%numKeys)
			}
			return nil
		}},
		{"keyedcache", func(ctx context.Context, i int) error {
			p, err := keyedcache.Get[Product](ctx, c, "product", i%numKeys)
			if err == nil && p.ID != int64(i%numKeys) {
				err = fmt.Errorf("read product %d, want %d", p.ID, i%numKeys)
			}
			return err
		}},
	}
	sets := []contender{
		{"raw", func(ctx context.Context, i int) error {
			return rc.Do(ctx, rc.B().Set().Key(keys[i%numKeys]).Value(values[i%numKeys]).Px(ttl).Build()).Error()
		}},
		{"raw+codec", func(ctx context.Context, i int) error {
			body, err := keyedcache.CBOR.Marshal(products[i%numKeys])
			if err != nil {
				return err
			}
			v := append([]byte{values[i%numKeys][0]}, body...) // keyedcache's codec tag first
			return rc.Do(ctx, rc.B().Set().Key(keys[i%numKeys]).Value(rueidis.BinaryString(v)).Px(ttl).Build()).Error()
		}},
		{"keyedcache", func(ctx context.Context, i int) error {
			return c.Set(ctx, parts[i%numKeys], products[i%numKeys])
		}},
	}
	before := c.Stats().Errors
	b.Run("op=get", func(b *testing.B) {
		for _, g := range goroutineCounts {
			interleave(b, g, "impl", gets)
		}
	})
	b.Run("op=set", func(b *testing.B) {
		for _, g := range goroutineCounts {
			interleave(b, g, "impl", sets)
		}
	})
	if n := c.Stats().Errors - before; n > 0 {
		b.Fatalf("%d keyedcache calls failed", n)
	}
}
