package redis

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

// A rawClient is one Redis client under test, reduced to what a cache
// needs from it.
type rawClient struct {
	name  string
	get   func(ctx context.Context, key string) ([]byte, error)
	set   func(ctx context.Context, key string, value []byte) error
	close func()
}

// rawClients opens every contender on addr.
func rawClients(b *testing.B, addr string) []rawClient {
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		b.Fatal(err)
	}
	gr := goredis.NewClient(&goredis.Options{Addr: addr})
	gr64 := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 64})
	goredisClient := func(name string, c *goredis.Client) rawClient {
		return rawClient{
			name:  name,
			get:   func(ctx context.Context, key string) ([]byte, error) { return c.Get(ctx, key).Bytes() },
			set:   func(ctx context.Context, key string, v []byte) error { return c.Set(ctx, key, v, time.Hour).Err() },
			close: func() { c.Close() },
		}
	}
	return []rawClient{
		{
			name: "rueidis",
			get: func(ctx context.Context, key string) ([]byte, error) {
				return rc.Do(ctx, rc.B().Get().Key(key).Build()).AsBytes()
			},
			set: func(ctx context.Context, key string, v []byte) error {
				return rc.Do(ctx, rc.B().Set().Key(key).Value(rueidis.BinaryString(v)).Px(time.Hour).Build()).Error()
			},
			close: rc.Close,
		},
		goredisClient("go-redis", gr),
		goredisClient("go-redis-pool64", gr64),
	}
}

// BenchmarkRaw measures GET and SET of a 128-byte value through each
// client against one loopback redis-server, at 1, 8 and 64 goroutines,
// the clients in interleaved rounds.
func BenchmarkRaw(b *testing.B) {
	srv := startServer(b)
	clients := rawClients(b, srv.Addr)
	value := bytes.Repeat([]byte("v"), valueSize)
	ctx := context.Background()
	for i := range numKeys {
		if err := clients[0].set(ctx, benchKey(i), value); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range clients {
		warm(b, func(ctx context.Context, i int) error { _, err := c.get(ctx, benchKey(i)); return err })
	}
	gets := make([]contender, len(clients))
	sets := make([]contender, len(clients))
	for j, c := range clients {
		defer c.close()
		gets[j] = contender{c.name, func(ctx context.Context, i int) error {
			v, err := c.get(ctx, benchKey(i))
			if err == nil && len(v) != valueSize {
				err = fmt.Errorf("read %d bytes, want %d", len(v), valueSize)
			}
			return err
		}}
		sets[j] = contender{c.name, func(ctx context.Context, i int) error { return c.set(ctx, benchKey(i), value) }}
	}
	b.Run("op=get", func(b *testing.B) {
		for _, g := range goroutineCounts {
			interleave(b, g, "client", gets)
		}
	})
	b.Run("op=set", func(b *testing.B) {
		for _, g := range goroutineCounts {
			interleave(b, g, "client", sets)
		}
	})
}
