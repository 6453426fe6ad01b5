// Package function measures keyedcache's cached functions
// (keyedcache.dev/function) against what people write instead.
//
// BenchmarkHit reads one cached result: through function.Func.Call,
// through a plain keyedcache.Get of the same value on the same cache,
// and from a hand-written memo (a map behind a sync.Mutex, the smallest
// thing that caches a function in one process). Sub-benchmarks are named
// .../impl=NAME for "benchstat -col /impl".
//
// BenchmarkMiss measures what the once-per-process path costs when there
// is nothing to find: the function called directly, through
// x/sync/singleflight, through Func with nothing stored (WithTTL(0): the
// flight only), and through Func computing and storing a cold key.
//
// BenchmarkHitInterleaved compares a Func.Call hit with a keyedcache.Get
// hit of the same value on the same cache — by reference, in copy mode,
// and on Redis — in alternating rounds, and reports the median of their
// ratio per round (func/get), which load from other users of the machine
// moves far less than either time:
//
//	go test -run '^$' -bench HitInterleaved -benchtime 20x -count 6 -cpu 1,2 ./function/
//
// TestStampede counts function calls when many callers in 4 processes
// ask for one cold key at once, the function sleeping 5 ms, under three
// strategies on each cache processes share — file://, SQLite, Redis,
// memcached and PostgreSQL: no protection (cache-aside:
// read, compute on a miss, write), a per-process singleflight in front of
// cache-aside — the protection go-redis/cache's Once and eko/gocache's
// loadable cache give, modelled here with x/sync/singleflight so that no
// rival library enters the measurement — and keyedcache's Func. It logs a
// table; run it with -v.
//
// The package has no non-test code; run it from bench/ with
//
//	go test -run '^$' -bench . -benchmem ./function/
//	go test -v -run 'TestStampede$' ./function/
package function
