package file_test

import (
	"testing"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/file"
)

// TestConformance runs the shared suite on two Stores opened on one
// directory, standing for two processes.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		dir := t.TempDir()
		open := func() *file.Store {
			s, err := file.New(dir, file.Options{})
			if err != nil {
				t.Fatalf("file.New: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open()
	})
}
