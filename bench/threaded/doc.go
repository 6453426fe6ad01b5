// Package threaded measures keyedcache's first-level caches against
// real servers on loopback (redis-server and memcached, started by
// internal/testserver):
//
//   - BenchmarkPage: a page-like workload — 20 lookups per request, 8 of
//     them repeats of keys the same request already looked up — without
//     tiers, with the request tier (threaded.WithRequestCache), with the
//     process tier (near_entries) and with both. It reports the time per
//     page and the key reads the server counted per page (Redis
//     keyspace_hits + keyspace_misses, memcached cmd_get).
//   - BenchmarkPageInterleaved: the same pages, the four sets of tiers in
//     alternating rounds, each one's fastest round kept — the robust
//     figure for time per page on a shared machine.
//   - BenchmarkHitInterleaved: one hit on the remote backend alone against
//     a hit in the process tier in front of it, alternating likewise.
//
// The commands and figures are in bench/README.md.
package threaded
