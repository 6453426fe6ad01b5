// Package groupcache measures keyedcache's groupcache:// backend in a
// cluster of three processes on loopback: the benchmark process, which
// is one of the peers, and two children (the test binary run again).
// Get is measured from the peer (through groupcache: a copy in this
// process or in the peer groupcache picks) and from a client (which asks
// the key's owner every time), next to memory:// as the in-process
// floor; Set (the owner's write plus the invalidation sent to every
// peer) and Fill of a warm key likewise.
//
// The package has no non-test code; run it from bench/ with
//
//	go test -run '^$' -bench . -benchtime 2000x -count 6 ./groupcache/
//
// Sub-benchmarks are named .../mode=NAME so that "benchstat -col /mode"
// lays the modes side by side.
package groupcache
