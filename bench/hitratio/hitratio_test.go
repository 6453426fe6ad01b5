package hitratio

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

const (
	keyspace = 1_000_000
	warmup   = 1_000_000 // requests replayed before counting
	requests = 2_000_000 // requests counted
)

var (
	skews = []float64{1.01, 1.1, 1.3} // Zipf s; Go's Zipf needs s > 1
	sizes = []int{1_000, 10_000, 100_000}
)

// lruColumn is the index of the baseline in contenders.
const lruColumn = 2

// stream returns warmup+requests keys drawn from a Zipf distribution of
// exponent s over keyspace ranks, with a fixed seed. Ranks are scrambled
// by a bijective mixer so that popular keys are not small integers that
// some hash functions would treat kindly.
func stream(s float64) []uint64 {
	r := rand.New(rand.NewPCG(20250314, uint64(s*1000)))
	z := rand.NewZipf(r, s, 1, keyspace-1)
	keys := make([]uint64, warmup+requests)
	for i := range keys {
		keys[i] = mix(z.Uint64())
	}
	return keys
}

func distinct(keys []uint64) int {
	seen := make(map[uint64]struct{})
	for _, k := range keys {
		seen[k] = struct{}{}
	}
	return len(seen)
}

// mix is the splitmix64 finalizer, a bijection on uint64.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// replay runs keys through p cache-aside (get; on a miss, set) and returns
// the hit ratio over the keys after the warmup.
func replay(p policy, keys []uint64) float64 {
	hits := 0
	for i, k := range keys {
		if p.get(k) {
			if i >= warmup {
				hits++
			}
			continue
		}
		p.set(k)
	}
	return float64(hits) / float64(len(keys)-warmup)
}

func TestHitRatio(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 54 × 3M requests; skipped in -short mode")
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| Zipf s | size    |")
	for _, c := range contenders {
		fmt.Fprintf(&table, " %s |", c.name)
	}
	table.WriteString(" otter − LRU |\n|-------:|--------:|")
	for range contenders {
		table.WriteString("------:|")
	}
	table.WriteString("------:|\n")

	for _, s := range skews {
		keys := stream(s)
		t.Logf("s=%v: %d distinct keys in %d requests", s, distinct(keys), len(keys))
		for _, size := range sizes {
			ratios := make([]float64, len(contenders))
			for i, c := range contenders {
				p := c.new(size)
				ratios[i] = replay(p, keys)
				p.close()
				if o, ok := p.(*otterPolicy); ok && o.maxSeen > size {
					t.Logf("s=%v size=%d: %s held up to %d entries (%+.2f%%) while writes were pending",
						s, size, c.name, o.maxSeen, 100*float64(o.maxSeen-size)/float64(size))
				}
			}
			fmt.Fprintf(&table, "| %6.2f | %7d |", s, size)
			for _, r := range ratios {
				fmt.Fprintf(&table, " %.2f%% |", 100*r)
			}
			lru := ratios[lruColumn]
			fmt.Fprintf(&table, " %+.2f pp |\n", 100*(ratios[0]-lru))
			for _, i := range []int{0, 1} {
				if ratios[i] < lru-0.01 {
					t.Errorf("s=%v size=%d: %s %.2f%% < LRU %.2f%% − 1 pp",
						s, size, contenders[i].name, 100*ratios[i], 100*lru)
				}
			}
		}
	}
	t.Logf("hit ratio after %d warmup requests, over %d requests, keyspace %d:\n%s",
		warmup, requests, keyspace, table.String())
}
