// Package memcached measures keyedcache's memcached:// backend against
// the client it is built on, github.com/bradfitz/gomemcache, used
// directly: Get and Set of a 128-byte value at 1, 8 and 64 goroutines
// against one loopback memcached that the benchmark starts itself
// (internal/testserver).
//
// Contenders run in interleaved rounds: each sub-benchmark (g=N) runs
// 8 rounds, and each round runs every contender in turn (starting with
// a different one each round) for b.N/8 calls. It reports each
// contender's time per call ("NAME-ns/op") and, for all but raw, the
// median over the rounds of its throughput relative to raw's in the
// same round ("NAME-x": 1.0 is raw's speed), so that load that comes and
// goes on a shared machine hits every contender of a round alike.
//
//   - raw: gomemcache, 64 idle connections kept (as the backend keeps by
//     default), one get or set per call (the anchor);
//   - store: the backend (memcached.Store) called directly: one round
//     trip per call, plus key mapping, down-server tracking and context
//     handling;
//   - store-with: the backend's GetWith / SetWith of the key with the
//     two token keys of its parents, the round trip the core sends;
//   - keyedcache: keyedcache.Get / (*Cache).Set on memcached:// with a
//     key prefix, which also encodes and decodes the value and stamps it
//     with the generation tokens of its parents (read in the same round
//     trip);
//   - raw-gens1 (reads only): gomemcache's GetMulti of the token keys
//     and the key.
//
// raw-idle2, raw-gens (the two round trips of the former layout) and
// store-gens1 are defined but not run.
//
// Run it from bench/ with
//
//	go test -run '^$' -bench '^Benchmark(Get|Set)$' -benchtime 8000x -count 6 ./memcached/ > new.txt
//	benchstat -filter '.unit:keyedcache-x' new.txt
//
// The package has no non-test code.
package memcached
