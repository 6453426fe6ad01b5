package memory_test

import (
	"testing"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/memory"
)

// TestConformance runs the shared suite on one Store, handed out twice:
// within one process, both "processes" see the same memory.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		s := newStore(t, memory.Options{})
		return s, s
	})
}

// TestConformanceByReference runs it again in by-reference mode, where
// the core keeps Go values through the ObjectStore methods.
func TestConformanceByReference(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		s := newStore(t, memory.Options{ByReference: true})
		return s, s
	})
}
