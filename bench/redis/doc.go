// Package redis measures keyedcache's redis:// backend
// (keyedcache.dev/keyedcache/backend/redis), each benchmark against a
// redis-server it starts on a free loopback port (internal/testserver):
//
//   - BenchmarkRaw: the clients the backend could be built on,
//     github.com/redis/rueidis and github.com/redis/go-redis/v9 (default
//     pool, and 64 connections), GET and SET of 128 bytes.
//   - BenchmarkCache: CacheGet and CacheSet through keyedcache on redis://
//     against the raw chosen client sending the same bytes (raw), and the
//     same with the codec applied by hand (raw+codec).
//   - BenchmarkChildren: delete-with-children through the backend's index
//     against the core's namespace generations, and what each costs reads
//     and writes.
//   - BenchmarkSetPath: ways to write a value and its index entry (a
//     pipeline, MULTI/EXEC, a Lua script) against a plain SET.
//   - BenchmarkIndexMemory: the server memory the index costs per key.
//
// Each runs its calls from exactly 1, 8 or 64 goroutines and reports
// ops/s, p50 and p99 latency, allocations, and the CPU time per call of
// this process (client-cpu-µs/op) and of the redis-server
// (server-cpu-µs/op). On a shared machine throughput moves with the load;
// CPU per call does not. Clients are warmed by 64 concurrent callers
// first, so that rueidis connections are in the pipelining mode a service
// runs them in.
//
// The package has no non-test code; run it from bench/, for example
//
//	go test -run '^$' -bench . -benchtime 2s ./redis/
//
// Sub-benchmarks are named .../client=NAME, .../impl=NAME or .../path=NAME
// so that "benchstat -col /client" (or /impl, /path) lays the contenders
// side by side. The commands and figures are in bench/README.md.
package redis
