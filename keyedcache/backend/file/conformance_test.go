package file_test

import (
	"testing"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/file"
)

// TestConformance runs the shared suite on two Stores opened on one
// directory, standing for two processes: with the default options, and
// with a byte bound that the suite's largest values (1 MiB) fit under,
// so that every write goes through the byte accounting.
func TestConformance(t *testing.T) {
	for name, opts := range map[string]file.Options{
		"default":   {},
		"max_bytes": {MaxBytes: 64 << 20},
	} {
		t.Run(name, func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
				dir := t.TempDir()
				open := func() *file.Store {
					s, err := file.New(dir, opts)
					if err != nil {
						t.Fatalf("file.New: %v", err)
					}
					t.Cleanup(func() { s.Close() })
					return s
				}
				return open(), open()
			})
		})
	}
}

// TestCrossProcess runs the cross-process checks with child processes
// sharing one directory.
func TestCrossProcess(t *testing.T) {
	backendtest.CrossProcess(t, func(t *testing.T) string { return "file://" + t.TempDir() })
}
