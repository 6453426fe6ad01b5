package threaded

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"keyedcache.dev/bench/internal/interleave"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/threaded"
)

// BenchmarkPageInterleaved times the page workload of BenchmarkPage with
// each set of tiers in turn, robustly on a shared machine: instead of
// timing each set in a benchmark of its own it runs interleaved rounds
// of each (32 pages, internal/interleave). It reports the median
// ns per page of each and the ratios to no tiers with their spread over
// the rounds; ns/op is the time of one round of all four.
func BenchmarkPageInterleaved(b *testing.B) {
	const perRound = 32
	for _, srv := range servers {
		b.Run("backend="+srv.name, func(b *testing.B) {
			url := srv.start(b)
			fill(b, open(b, url))
			plain, near := open(b, url), openNear(b, srv, url)
			for id := range numProducts { // the process tier holds every key
				keyedcache.Get[Product](context.Background(), near, "product", id)
			}
			var n atomic.Int64
			page := func(c *keyedcache.Cache, request bool) func(context.Context, int) error {
				return func(ctx context.Context, i int) error {
					if request {
						var release func()
						ctx, release = threaded.WithRequestCache(ctx)
						defer release()
					}
					for _, id := range pages[(int(n.Load())+i)%numPages] {
						if v, err := keyedcache.Get[Product](ctx, c, "product", id); err != nil || v.ID != int64(id) {
							return fmt.Errorf("product %d: %+v, %v", id, v, err)
						}
					}
					return nil
				}
			}
			interleave.Run(b, interleave.Config{
				PerRound: perRound,
				Between: func(c interleave.Contender) {
					if c.Name == "none" {
						n.Add(perRound)
					}
				},
			}, []interleave.Contender{
				{Name: "none", Call: page(plain, false)},
				{Name: "request", Call: page(plain, true)},
				{Name: "process", Call: page(near, false)},
				{Name: "request+process", Call: page(near, true)},
			})
		})
	}
}

// BenchmarkHitInterleaved reads cached keys one at a time from the
// remote backend alone (the anchor) and from the process tier in front
// of it, in interleaved rounds of 256 reads (internal/interleave), and
// reports each one's median ns per read and the ratio process/remote
// with its spread over the rounds.
func BenchmarkHitInterleaved(b *testing.B) {
	const perRound = 256
	for _, srv := range servers {
		b.Run("backend="+srv.name, func(b *testing.B) {
			url := srv.start(b)
			fill(b, open(b, url))
			plain, near := open(b, url), openNear(b, srv, url)
			ctx := context.Background()
			for id := range numProducts {
				keyedcache.Get[Product](ctx, near, "product", id)
			}
			var n atomic.Int64
			read := func(c *keyedcache.Cache) func(context.Context, int) error {
				return func(ctx context.Context, i int) error {
					id := int((n.Load() + int64(i)) % numProducts)
					v, err := keyedcache.Get[Product](ctx, c, "product", id)
					if err == nil && v.ID != int64(id) {
						err = fmt.Errorf("product %d: got %+v", id, v)
					}
					return err
				}
			}
			interleave.Run(b, interleave.Config{
				PerRound: perRound,
				Between: func(c interleave.Contender) {
					if c.Name == "remote" {
						n.Add(perRound)
					}
				},
			}, []interleave.Contender{
				{Name: "remote", Call: read(plain)},
				{Name: "process", Call: read(near)},
			})
		})
	}
}
