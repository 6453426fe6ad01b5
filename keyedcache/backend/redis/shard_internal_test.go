package redis

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/rueidis"
)

// TestCRC16 checks the hash against Redis Cluster's own examples
// (CLUSTER KEYSLOT): "123456789" is the CRC-16/XMODEM check value.
func TestCRC16(t *testing.T) {
	for s, want := range map[string]uint16{"123456789": 0x31c3, "": 0, "foo": 12182, "bar": 5061} {
		if got := crc16(s) % 16384; got != want%16384 {
			t.Errorf("slot(%q) = %d, want %d", s, got, want%16384)
		}
	}
}

// TestClusterTags checks that the shards' hash tags land on evenly spaced,
// distinct slots, and pins the first ones: they are part of the storage
// format, shared by every process.
func TestClusterTags(t *testing.T) {
	tags := clusterTags()
	if len(tags) != clusterShards {
		t.Fatalf("%d tags, want %d", len(tags), clusterShards)
	}
	for i, tag := range tags {
		if slot := int(crc16(tag) % 16384); slot != i*16384/clusterShards {
			t.Errorf("tag %d %q is in slot %d, want %d", i, tag, slot, i*16384/clusterShards)
		}
	}
	if d := cmp.Diff([]string{"1bz", "5n3", "53t"}, tags[:3]); d != "" {
		t.Errorf("the first tags changed, which moves every stored key (-want +got):\n%s", d)
	}
	sh := newShards(true)
	if !strings.HasPrefix(sh[1].index, "{"+tags[1]+"}") {
		t.Errorf("shard 1's index %q does not carry its tag", sh[1].index)
	}
}

// TestLexRange checks the bounds of the keys under a prefix, including
// prefixes that end in 0xff bytes.
func TestLexRange(t *testing.T) {
	for prefix, want := range map[string][2]string{
		"":         {"-", "+"},
		"a::":      {"[a::", "(a:;"},
		"a\xff":    {"[a\xff", "(b"},
		"\xff\xff": {"[\xff\xff", "+"},
	} {
		min, max := lexRange(prefix)
		if min != want[0] || max != want[1] {
			t.Errorf("lexRange(%q) = %q, %q; want %q, %q", prefix, min, max, want[0], want[1])
		}
	}
}

// TestTTL checks that TTLs round up to Redis's millisecond, never down,
// in every command that carries one.
func TestTTL(t *testing.T) {
	for ttl, want := range map[time.Duration]string{
		time.Nanosecond:         "1",
		time.Millisecond:        "1",
		1500 * time.Microsecond: "2",
		time.Hour:               "3600000",
		0:                       "0",
	} {
		if got := ttlMillis(ttl); got != want {
			t.Errorf("ttlMillis(%v) = %s, want %s", ttl, got, want)
		}
		// The zero Builder checks keys against slot 0: use shard 0's tag.
		k := "{" + clusterTags()[0] + "}k"
		wantSet := []string{"SET", k, "v"}
		if want != "0" {
			wantSet = append(wantSet, "PX", want)
		}
		for _, nx := range []bool{false, true} {
			cmd := setCmd(rueidis.Builder{}, k, "v", ttl, nx)
			got := cmd.Commands()
			w := wantSet
			if nx {
				w = append(append(slices.Clone(wantSet[:3]), "NX"), wantSet[3:]...)
			}
			if d := cmp.Diff(w, got); d != "" {
				t.Errorf("setCmd(%v, nx=%v) (-want +got):\n%s", ttl, nx, d)
			}
		}
	}
}
