package keyedcache_test

import (
	"testing"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/memory"
)

// bare hides every optional capability of a backend but TTL reading,
// leaving the six methods of the contract. (Without TTLReader or a native
// Incr, nothing can keep an entry's TTL through Incr.)
type bare struct {
	backend.Backend
	backend.TTLReader
}

// TestConformanceOnBareBackend runs the conformance suite on a backend
// with nothing but the core contract, so that every generic fallback of
// the core is exercised: namespace generations for delete-with-children
// and delete-all, read-then-write Touch and Incr, key-by-key many.
func TestConformanceOnBareBackend(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		s, err := memory.New(memory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return bare{s, s}, bare{s, s}
	})
}

// casOnly adds compare-and-swap back, so Incr's atomic fallback is
// exercised too.
type casOnly struct {
	backend.Backend
	backend.TTLReader
	backend.CompareAndSwapper
}

func TestConformanceOnCASBackend(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		s, err := memory.New(memory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return casOnly{s, s, s}, casOnly{s, s, s}
	})
}
