package redis

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// Ping checks that every server answers PING (each node of a cluster).
func (s *Store) Ping(ctx context.Context) (err error) {
	c, cl, err := s.begin(ctx, "ping")
	if err != nil {
		return err
	}
	defer cl.end(&err)
	nodes := c.Nodes()
	for _, addr := range slices.Sorted(maps.Keys(nodes)) {
		n := nodes[addr]
		if err := n.Do(cl.ctx, n.B().Ping().Build()).Error(); err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
	}
	return nil
}

// infoFields are the INFO fields BackendStats reports.
var infoFields = []string{
	"redis_version", "redis_mode", "uptime_in_seconds", "connected_clients",
	"used_memory", "used_memory_human", "maxmemory", "maxmemory_human", "maxmemory_policy",
	"keyspace_hits", "keyspace_misses", "evicted_keys", "expired_keys",
	"total_commands_processed", "instantaneous_ops_per_sec",
}

// BackendStats returns the server's own figures from INFO (memory, hits
// and misses, evictions, expirations, clients, the keys of the database)
// and "index_entries", the number of keys filed in the store's index
// (live keys plus entries not yet swept). In cluster mode each server
// figure is reported per node, named "ADDR NAME".
func (s *Store) BackendStats(ctx context.Context) (out map[string]string, err error) {
	c, cl, err := s.begin(ctx, "stats")
	if err != nil {
		return nil, err
	}
	defer cl.end(&err)
	ctx = cl.ctx
	out = map[string]string{}
	nodes := c.Nodes()
	for addr, n := range nodes {
		info, err := n.Do(ctx, n.B().Info().Build()).ToString()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
		prefix := ""
		if s.cluster {
			prefix = addr + " "
		}
		for name, value := range parseInfo(info) {
			if slices.Contains(infoFields, name) || strings.HasPrefix(name, "db") {
				out[prefix+name] = value
			}
		}
	}
	cmds := make(rueidis.Commands, len(s.shards))
	for i, sh := range s.shards {
		cmds[i] = c.B().Zcard().Key(sh.index).Build()
	}
	var entries int64
	for _, r := range c.DoMulti(ctx, cmds...) {
		n, err := r.AsInt64()
		if err != nil {
			return nil, err
		}
		entries += n
	}
	out["index_entries"] = strconv.FormatInt(entries, 10)
	return out, nil
}

// parseInfo reads the "name:value" lines of an INFO reply.
func parseInfo(info string) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(info) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if name, value, ok := strings.Cut(line, ":"); ok {
			m[name] = value
		}
	}
	return m
}
