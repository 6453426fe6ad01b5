package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// numStripes is the number of lock files. Every process sharing a
// directory must agree on it, so it is part of the format: changing it
// means changing formatVersion.
const numStripes = 64

// stripe is one lock: a semaphore for the goroutines of this Store and a
// lock file, flocked while the semaphore is held, for other Stores and
// other processes. flock locks belong to an open file description, so a
// second Store in the same process, with its own descriptor, is excluded
// as another process is.
type stripe struct {
	sem chan struct{} // capacity 1; holding it guards f
	f   *os.File      // opened on first use
}

// lock acquires stripe i, waiting until ctx is done. The caller must
// call unlock on the returned stripe.
func (s *Store) lock(ctx context.Context, i int) (*stripe, error) {
	st := &s.stripes[i]
	select {
	case st.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if s.closed.Load() {
		<-st.sem
		return nil, ErrClosed
	}
	if st.f == nil {
		f, err := s.openLockFile(i)
		if err != nil {
			<-st.sem
			return nil, err
		}
		st.f = f
	}
	if err := lockFile(ctx, st.f, func() { <-st.sem }); err != nil {
		return nil, err // lockFile releases the semaphore
	}
	return st, nil
}

// tryLock acquires stripe i if it is free at once, and returns nil if
// not.
func (s *Store) tryLock(i int) *stripe {
	st := &s.stripes[i]
	select {
	case st.sem <- struct{}{}:
	default:
		return nil
	}
	if s.closed.Load() {
		<-st.sem
		return nil
	}
	if st.f == nil {
		f, err := s.openLockFile(i)
		if err != nil {
			<-st.sem
			return nil
		}
		st.f = f
	}
	if !tryLockFile(st.f) {
		<-st.sem
		return nil
	}
	return st
}

// unlock releases a stripe acquired by lock.
func (st *stripe) unlock() {
	// An unlock that fails leaves the lock held until the descriptor is
	// closed; there is nothing better to do with the error.
	_ = unlockFile(st.f)
	<-st.sem
}

func (s *Store) openLockFile(i int) (*os.File, error) {
	path := filepath.Join(s.dir, lockDirName, fmt.Sprintf("%02x%s", i, lockSuffix))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
			f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("file: open lock: %w", err)
	}
	return f, nil
}

// closeLocks waits for every stripe and closes its lock file.
func (s *Store) closeLocks() error {
	var errs []error
	for i := range s.stripes {
		st := &s.stripes[i]
		st.sem <- struct{}{}
		if st.f != nil {
			errs = append(errs, st.f.Close())
			st.f = nil
		}
		<-st.sem
	}
	return errors.Join(errs...)
}
