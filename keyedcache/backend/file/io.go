package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// state is what an entry file says about its key.
type state int

const (
	missing state = iota // no file
	dead                 // a file that is expired, unreadable or for another key
	alive                // a live entry
)

// load reads the entry file at path for key. Only I/O failures other
// than a missing file are errors; a bad file is dead.
func (s *Store) load(path, key string) (entry, state, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return entry{}, missing, nil
		}
		return entry{}, missing, err
	}
	e, err := decode(data)
	if err != nil || e.key != key || !live(e.expiry, s.now().UnixNano()) {
		return entry{}, dead, nil
	}
	return e, alive, nil
}

// discard removes the entry file for key if, under the key's lock, it is
// still dead: a write that replaced it since it was read is kept. It is
// best effort, for readers that found a dead file.
func (s *Store) discard(ctx context.Context, l loc, key string) {
	st, err := s.lock(ctx, l.stripe)
	if err != nil {
		return
	}
	defer st.unlock()
	if _, state, err := s.load(l.path, key); err == nil && state == dead {
		if s.unlink(l.path) == nil {
			s.dropMarker(s.markerOf(l))
		}
	}
}

// entrySize is the size of the entry file for key and value.
func entrySize(key string, value []byte) int64 {
	return headerSize + int64(len(key)) + int64(len(value))
}

// tooBig reports whether an entry of size bytes exceeds the byte bound
// on its own, so that no cull could make room for it.
func (s *Store) tooBig(size int64) bool {
	return s.maxBytes > 0 && size > s.maxBytes
}

// unlink removes the entry file at path, which the caller has locked,
// and takes it off the count and the bytes.
func (s *Store) unlink(path string) error {
	var size int64
	if fi, err := os.Lstat(path); err == nil {
		size = fi.Size()
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	s.count.Add(-1)
	s.bytes.Add(-size)
	return nil
}

// writeTemp writes an entry to a new temporary file in key's fan-out
// directory, creating the directory if needed, and returns its path.
func (s *Store) writeTemp(l loc, key string, value []byte, expiry int64) (string, error) {
	f, err := os.CreateTemp(l.sub, tempPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(l.sub, 0o700); err == nil {
			f, err = os.CreateTemp(l.sub, tempPrefix+"*")
		}
	}
	if err != nil {
		return "", fmt.Errorf("file: write: %w", err)
	}
	// A small value goes out with its header in one write.
	const oneWrite = 4096
	extra := 0
	if len(value) <= oneWrite {
		extra = len(value)
	}
	buf := encodeHeader(key, value, expiry, extra)
	if extra > 0 {
		buf = append(buf, value...)
	}
	_, err = f.Write(buf)
	if err == nil && extra == 0 && len(value) > 0 {
		_, err = f.Write(value)
	}
	if err == nil && s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("file: write: %w", err)
	}
	return f.Name(), nil
}

// commit renames a temporary file of size bytes, written by writeTemp,
// over key's entry file, and counts what it adds: an entry if there was
// none, and the difference in bytes from the file it replaces. The
// caller holds the key's lock. It first makes sure the entry has its
// marker in the prefix tree. On failure it removes tmp.
func (s *Store) commit(tmp string, l loc, size int64) error {
	if err := s.ensureMarker(l); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("file: write: %w", err)
	}
	old, existed := int64(0), false
	if fi, err := os.Lstat(l.path); err == nil {
		old, existed = fi.Size(), true
	}
	if err := os.Rename(tmp, l.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("file: write: %w", err)
	}
	if !existed {
		s.count.Add(1)
	}
	s.bytes.Add(size - old)
	if s.sync {
		if d, err := os.Open(l.sub); err == nil {
			err = d.Sync()
			d.Close()
			if err != nil {
				return fmt.Errorf("file: sync directory: %w", err)
			}
		}
	}
	return nil
}

// rewrite replaces key's entry, under the key's lock held by the caller,
// culling first if the entry grows past the byte bound. An entry too big
// for the bound on its own is removed instead, as Set does.
func (s *Store) rewrite(ctx context.Context, l loc, key string, value []byte, expiry int64) error {
	size := entrySize(key, value)
	if s.tooBig(size) {
		if err := s.unlink(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("file: write: %w", err)
		}
		s.dropMarker(s.markerOf(l))
		return nil
	}
	if s.maxBytes > 0 {
		// A cull here runs under the key's lock, which it does not take
		// or need: it holds up only the writers of this stripe, and only
		// when the entry grows past the bound.
		p := pending{path: l.path, size: size, isNew: true}
		if fi, err := os.Lstat(l.path); err == nil {
			p.old, p.isNew = fi.Size(), false
		}
		s.makeRoom(ctx, p)
	}
	tmp, err := s.writeTemp(l, key, value, expiry)
	if err != nil {
		return err
	}
	return s.commit(tmp, l, size)
}

// kind classifies the files walk reports.
type kind int

const (
	kindEntry kind = iota // an entry file
	kindTemp              // a temporary file
)

// staleTempAge is the age past which a temporary file is assumed to be
// left by a writer that died, and is removed.
const staleTempAge = time.Minute

// walk calls fn with the path of every entry and temporary file in the
// Store's directory, one fan-out directory at a time, ignoring files it
// does not recognize. It stops at fn's first error or when ctx is done.
// Files that vanish while it runs are skipped.
func (s *Store) walk(ctx context.Context, fn func(path string, k kind) error) error {
	root, err := readDirNames(s.dir)
	if err != nil {
		return err
	}
	for _, name := range root {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := filepath.Join(s.dir, name)
		switch {
		case strings.HasPrefix(name, tempPrefix):
			if err := fn(path, kindTemp); err != nil {
				return err
			}
		case isSubdirName(name):
			names, err := readDirNames(path)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) {
					continue
				}
				return err
			}
			for _, n := range names {
				var err error
				switch {
				case isEntryName(n):
					err = fn(filepath.Join(path, n), kindEntry)
				case strings.HasPrefix(n, tempPrefix):
					err = fn(filepath.Join(path, n), kindTemp)
				}
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

var errNotDir = errors.New("not a directory")

// readDirNames returns the names in a directory, unsorted.
func readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if fi, err := d.Stat(); err == nil && !fi.IsDir() {
		return nil, errNotDir
	}
	return d.Readdirnames(-1)
}

// removeIfStale removes a temporary file older than staleTempAge.
func (s *Store) removeIfStale(path string) {
	fi, err := os.Lstat(path)
	if err == nil && s.now().Sub(fi.ModTime()) > staleTempAge {
		os.Remove(path)
	}
}
