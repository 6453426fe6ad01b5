package redis

import (
	"strconv"
	"sync"
	"sync/atomic"
)

// indexName is the name of the sorted set that files the keys of a shard.
// A key the core builds can never be it: the core escapes a '%' in key
// text, so only its own markers start with one, and none of them is "kc".
const indexName = "%kc:index"

// clusterShards is how many shards the keys are spread over in cluster
// mode. Each shard's value keys and index share one hash slot, so every
// write and its index entry are one transaction on one node; a prefix
// delete visits every shard (one pipelined script each). The shards' slots
// are evenly spaced over the 16384, so they spread over the nodes the way
// the slot ranges do.
const clusterShards = 256

// A shard is a group of keys that live in one hash slot with their index.
type shard struct {
	tag      string // the hash tag every value key of the shard starts with ("" in standalone mode)
	index    string // the key of the shard's index
	mu       sync.Mutex
	sweep    string      // where this process's next sweep of the index starts ("" = the beginning)
	sweeping atomic.Bool // a sweep of the shard is running
}

// newShards returns the shards of a standalone or a cluster store.
func newShards(cluster bool) []*shard {
	if !cluster {
		return []*shard{{index: indexName}}
	}
	tags := clusterTags()
	shards := make([]*shard, len(tags))
	for i, t := range tags {
		tag := "{" + t + "}"
		shards[i] = &shard{tag: tag, index: tag + indexName}
	}
	return shards
}

// clusterTags returns, for each shard, the shortest base-36 string whose
// hash slot is the shard's number times 16384/clusterShards. The table is
// part of the storage format: every process computes the same one.
var clusterTags = sync.OnceValue(func() []string {
	const spacing = 16384 / clusterShards
	tags := make([]string, clusterShards)
	left := clusterShards
	for n := int64(0); left > 0; n++ {
		t := strconv.FormatInt(n, 36)
		slot := int(crc16(t) % 16384)
		if slot%spacing == 0 && tags[slot/spacing] == "" {
			tags[slot/spacing] = t
			left--
		}
	}
	return tags
})

// crc16 is the CRC-16/XMODEM that Redis Cluster hashes keys with.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// shardOf returns the shard a key belongs to: FNV-1a of the key, so that
// the keys under one prefix spread over all shards and nodes.
func (s *Store) shardOf(key string) *shard {
	if len(s.shards) == 1 {
		return s.shards[0]
	}
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return s.shards[h%uint32(len(s.shards))]
}

// locate returns the Redis key that holds key's value, and its shard.
func (s *Store) locate(key string) (string, *shard) {
	sh := s.shardOf(key)
	if sh.tag == "" {
		return key, sh
	}
	return sh.tag + key, sh
}

// lexRange returns the ZRANGEBYLEX bounds of the members that start with
// prefix.
func lexRange(prefix string) (min, max string) {
	if prefix == "" {
		return "-", "+"
	}
	// The smallest string above every string that starts with prefix:
	// prefix with its last byte below 0xff incremented and the rest cut.
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return "[" + prefix, "(" + string(b[:i+1])
		}
	}
	return "[" + prefix, "+"
}
