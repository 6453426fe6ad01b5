// Package getbench measures the hit path of keyedcache's memory://
// backend against the in-process caches people would otherwise use —
// otter v2 (which memory:// is built on), ristretto v2, patrickmn/go-cache
// and hashicorp/golang-lru — and the cost of building a key from parts
// against fmt.Sprintf.
//
// BenchmarkGet fills each cache with the same 100,000 products, sized so
// that nothing is evicted, checks that every key hits, and then reads
// (and, in the reads=75 mix, rewrites) keys drawn from one precomputed,
// deterministic Zipf sequence from every goroutine of b.RunParallel.
// BenchmarkKey builds the same key with keyedcache.CacheKey and with
// fmt.Sprintf. Sub-benchmarks are named .../impl=NAME so that
// "benchstat -col /impl" lays the contenders side by side.
//
// The package has no non-test code; run it from bench/ with
//
//	go test -run '^$' -bench . -benchmem ./getbench/
package getbench
