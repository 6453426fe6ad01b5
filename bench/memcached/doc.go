// Package memcached measures keyedcache's memcached:// backend against
// the client it is built on, github.com/bradfitz/gomemcache, used
// directly: Get and Set of a 128-byte value at 1, 8 and 64 goroutines
// against one loopback memcached that the benchmark starts itself
// (internal/testserver).
//
// The contenders (sub-benchmark .../impl=NAME, so that
// "benchstat -col /impl" lays them side by side):
//
//   - raw: gomemcache, 64 idle connections kept (as the backend keeps by
//     default), one get or set per call;
//   - raw-idle2: the same with gomemcache's default of 2 idle
//     connections;
//   - store: the backend (memcached.Store) called directly: one round
//     trip per call, plus key mapping, down-server tracking and context
//     handling;
//   - keyedcache: keyedcache.Get / (*Cache).Set on memcached://, which
//     also encodes and decodes the value and, because memcached cannot
//     delete by prefix, reads the namespace-generation tokens of the
//     key's prefixes first (a multi-get: a second round trip);
//   - raw-gens: gomemcache doing the same two round trips as keyedcache
//     (a multi-get of three token keys, then the get or set), so that
//     what the core's generations cost and what the rest of the stack
//     costs can be told apart;
//   - raw-gens1 (reads only): the token keys and the value in one
//     multi-get, one round trip: what the core's reads could cost if an
//     entry carried the hash of the tokens it was written under and a
//     read checked it after the fact (a design the core does not have);
//   - store-gens1 (reads only): the same single multi-get through the
//     backend's GetMany, which sends it on its own connection without
//     gomemcache's goroutine per server.
//
// The package has no non-test code; run it from bench/ with
//
//	go test -run '^$' -bench . -benchtime 1s ./memcached/
package memcached
