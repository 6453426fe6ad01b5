package redis

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// setIndexScript writes a value and records its key in a sorted-set
// index in one atomic step: the write path the backend could use.
var setIndexScript = rueidis.NewLuaScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], 0, KEYS[1])
return 1`)

// BenchmarkSetPath measures the ways a write can also record its key in
// an index (a sorted set), against a plain SET: the same two commands
// pipelined, the same in MULTI/EXEC, and one Lua script (EVALSHA).
func BenchmarkSetPath(b *testing.B) {
	srv := startServer(b)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	value := rueidis.BinaryString(bytes.Repeat([]byte("v"), valueSize))
	const idx = "bench::index"
	ttl := time.Hour.Milliseconds()
	paths := []struct {
		name string
		set  func(ctx context.Context, key string) error
	}{
		{"set", func(ctx context.Context, key string) error {
			return c.Do(ctx, c.B().Set().Key(key).Value(value).PxMilliseconds(ttl).Build()).Error()
		}},
		{"pipeline", func(ctx context.Context, key string) error {
			for _, r := range c.DoMulti(ctx,
				c.B().Set().Key(key).Value(value).PxMilliseconds(ttl).Build(),
				c.B().Zadd().Key(idx).ScoreMember().ScoreMember(0, key).Build()) {
				if err := r.Error(); err != nil {
					return err
				}
			}
			return nil
		}},
		{"multi", func(ctx context.Context, key string) error {
			for _, r := range c.DoMulti(ctx,
				c.B().Multi().Build(),
				c.B().Set().Key(key).Value(value).PxMilliseconds(ttl).Build(),
				c.B().Zadd().Key(idx).ScoreMember().ScoreMember(0, key).Build(),
				c.B().Exec().Build()) {
				if err := r.Error(); err != nil {
					return err
				}
			}
			return nil
		}},
		{"lua", func(ctx context.Context, key string) error {
			return setIndexScript.Exec(ctx, c, []string{key, idx}, []string{value, fmt.Sprint(ttl)}).Error()
		}},
	}
	warm(b, func(ctx context.Context, i int) error {
		return c.Do(ctx, c.B().Exists().Key(benchKey(i)).Build()).Error()
	})
	for _, g := range goroutineCounts {
		for _, p := range paths {
			b.Run(fmt.Sprintf("g=%d/path=%s", g, p.name), func(b *testing.B) {
				run(b, g, func(ctx context.Context, i int) error { return p.set(ctx, benchKey(i)) })
			})
		}
	}
}
