//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package file

import (
	"context"
	"os"
)

// crossProcess reports whether locks exclude other processes. Without
// flock(2) they exclude only the goroutines of one Store.
const crossProcess = false

// lockFile does nothing where flock(2) is not available, and so never
// fails.
func lockFile(ctx context.Context, f *os.File, release func()) error { return nil }

// unlockFile does nothing where flock(2) is not available.
func unlockFile(f *os.File) error { return nil }

// tryLockFile does nothing where flock(2) is not available, and so
// always succeeds.
func tryLockFile(f *os.File) bool { return true }
