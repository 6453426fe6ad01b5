//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package file

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// crossProcess reports whether locks exclude other processes.
const crossProcess = true

// lockFile takes an exclusive flock on f. It tries without blocking
// first; if the lock is busy it waits in a blocking flock, woken by the
// kernel the moment the holder lets go, on a goroutine of its own so
// that ctx can end the wait.
//
// On failure lockFile calls release, which lets go of the caller's hold
// on f: at once, or — when ctx ends a blocking wait, which cannot be
// interrupted — only after that abandoned wait ends (its lock is then
// dropped at once), so that no other goroutine uses f meanwhile.
func lockFile(ctx context.Context, f *os.File, release func()) error {
	fd := int(f.Fd())
	err := flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		release()
		return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	done := make(chan error, 1)
	go func() { done <- flock(fd, syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			release()
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
		return nil
	case <-ctx.Done():
		go func() {
			if <-done == nil {
				flock(fd, syscall.LOCK_UN)
			}
			release()
		}()
		return ctx.Err()
	}
}

// tryLockFile takes an exclusive flock on f if it is free at once, and
// reports whether it did.
func tryLockFile(f *os.File) bool {
	return flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// unlockFile releases the flock on f.
func unlockFile(f *os.File) error {
	return flock(int(f.Fd()), syscall.LOCK_UN)
}

// flock is syscall.Flock, retried when a signal interrupts it.
func flock(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
