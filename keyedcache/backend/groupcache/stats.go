package groupcache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	gc "github.com/golang/groupcache"
)

// Ping asks every peer at once and returns an error naming those that do
// not answer. The others keep working without them (see the package
// documentation), so a failed Ping means "degraded", not "down".
func (b *Backend) Ping(ctx context.Context) error {
	if b.closed.Load() {
		return ErrClosed
	}
	errs := b.fanout(func(peer string) error {
		_, err := b.n.call(ctx, b.sp, peer, &request{op: opPing}, b.n.opts.PeerTimeout)
		return err
	})
	if len(errs) > 0 {
		return fmt.Errorf("groupcache: %d of %d peers do not answer: %w", len(errs), len(b.n.opts.Peers), errors.Join(errs...))
	}
	return nil
}

// BackendStats returns this process's figures: the node, the entries it
// owns, its Get group's groupcache counters, and its fills.
func (b *Backend) BackendStats(ctx context.Context) (map[string]string, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	n, sp := b.n, b.sp
	down := n.peers.downList()
	slices.Sort(down)
	m := map[string]string{
		"self":          n.opts.Self,
		"peers":         strings.Join(n.opts.Peers, ","),
		"peers_down":    strings.Join(down, ","),
		"namespace":     sp.ns,
		"max_stale":     n.opts.MaxStale.String(),
		"cache_bytes":   strconv.FormatInt(n.opts.CacheBytes, 10),
		"bump_failures": strconv.FormatInt(n.bumpFailures.Load(), 10),
		"peer_failures": strconv.FormatInt(n.peers.failures.Load(), 10),
	}
	m["client"] = strconv.FormatBool(n.client)
	if !n.client {
		m["listen"] = strconv.FormatBool(!n.opts.Mount)
		if st, err := sp.store.BackendStats(ctx); err == nil {
			for k, v := range st {
				m["owned_"+k] = v
			}
		}
		groupStats(m, "get_", sp.get)
	}
	sp.fillMu.Lock()
	names := make([]string, 0, len(sp.fills))
	var loads int64
	for name, fg := range sp.fills {
		names = append(names, name)
		if fg.g != nil {
			loads += fg.g.Stats.LocalLoads.Get()
		}
	}
	sp.fillMu.Unlock()
	slices.Sort(names)
	m["fills"] = strings.Join(names, ",")
	m["fill_local_loads"] = strconv.FormatInt(loads, 10)
	return m, nil
}

func groupStats(m map[string]string, prefix string, g *gc.Group) {
	s := &g.Stats
	for name, v := range map[string]int64{
		"gets": s.Gets.Get(), "cache_hits": s.CacheHits.Get(), "peer_loads": s.PeerLoads.Get(),
		"peer_errors": s.PeerErrors.Get(), "loads": s.Loads.Get(), "loads_deduped": s.LoadsDeduped.Get(),
		"local_loads": s.LocalLoads.Get(), "local_load_errors": s.LocalLoadErrs.Get(), "server_requests": s.ServerRequests.Get(),
	} {
		m[prefix+name] = strconv.FormatInt(v, 10)
	}
	main, hot := g.CacheStats(gc.MainCache), g.CacheStats(gc.HotCache)
	m[prefix+"main_cache_bytes"] = strconv.FormatInt(main.Bytes, 10)
	m[prefix+"main_cache_items"] = strconv.FormatInt(main.Items, 10)
	m[prefix+"hot_cache_bytes"] = strconv.FormatInt(hot.Bytes, 10)
	m[prefix+"hot_cache_items"] = strconv.FormatInt(hot.Items, 10)
}
