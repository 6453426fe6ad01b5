package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// Defaults for Options.
const (
	// DefaultMaxEntries is the number of entries a Store holds before it
	// culls, when Options.MaxEntries is zero.
	DefaultMaxEntries = 10000
	// DefaultCullFrequency is the fraction (1/3) of the entries a full
	// Store removes, when Options.CullFrequency is zero.
	DefaultCullFrequency = 3
	// ClearWhenFull, as Options.CullFrequency, makes a full Store remove
	// every entry, as Django's CULL_FREQUENCY = 0 does.
	ClearWhenFull = -1
)

// ErrClosed is returned by every method of a Store after Close.
var ErrClosed = backend.ClosedError("file")

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// MaxEntries is the number of entries the directory may hold; a
	// write that would exceed it culls first. Zero means
	// DefaultMaxEntries. With several processes writing, each counts on
	// its own between scans, so the directory may briefly hold more.
	MaxEntries int
	// MaxBytes bounds the bytes the entry files take on disk, each
	// counted as its size: a 28-byte header, the key and the value
	// (directories, lock files and file system blocks are not counted).
	// A write that would exceed it culls first. Zero means no byte
	// bound. As with MaxEntries, each Store counts its own writes
	// between scans, so with several processes writing the directory
	// may briefly hold more; a lone Store whose writes do not overlap
	// keeps it exactly. A value whose entry alone exceeds MaxBytes is
	// not stored: see Store.Set and Store.Add.
	MaxBytes int64
	// CullFrequency sets how much a cull removes: 1/CullFrequency of the
	// entries, or of the bytes when MaxBytes is what is exceeded (at
	// least enough to make room for the new entry). Zero means
	// DefaultCullFrequency; ClearWhenFull removes every entry.
	CullFrequency int
	// Sync makes every write fsync the new file before renaming it into
	// place, and its directory after. Without it a crash of the process
	// loses nothing that was written, but a crash of the machine may lose
	// recent writes or leave empty entry files, which read as misses.
	Sync bool
}

// Store is a cache in a directory, one file per entry. It implements
// backend.Backend and the optional Multi, PrefixDeleter, Toucher,
// Incrementer, CompareAndSwapper, KeyLister, SortedKeyLister, TTLReader,
// Statser and Pinger. It is safe for concurrent use by goroutines, and by other
// Stores and processes sharing its directory.
type Store struct {
	dir           string
	maxEntries    int64
	maxBytes      int64 // 0: no byte bound
	cullFrequency int
	sync          bool
	now           func() time.Time // time.Now; replaced in tests

	stripes [numStripes]stripe
	closed  atomic.Bool

	// count and bytes estimate the entry files in the directory and the
	// sum of their sizes: exact after each scan (New and every cull),
	// then kept by this Store's own writes and deletes, each of which
	// looks at the size of the file it replaces or removes, under the
	// key's lock. Other Stores' writes are seen at the next scan.
	count  atomic.Int64
	bytes  atomic.Int64
	cullMu sync.Mutex // one cull at a time per Store

	// index serves ScanKeysAfter (sorted.go); it stays empty until the
	// first call.
	index keyIndex
}

var (
	_ backend.Backend           = (*Store)(nil)
	_ backend.Multi             = (*Store)(nil)
	_ backend.PrefixDeleter     = (*Store)(nil)
	_ backend.Toucher           = (*Store)(nil)
	_ backend.Incrementer       = (*Store)(nil)
	_ backend.CompareAndSwapper = (*Store)(nil)
	_ backend.KeyLister         = (*Store)(nil)
	_ backend.SortedKeyLister   = (*Store)(nil)
	_ backend.TTLReader         = (*Store)(nil)
	_ backend.Statser           = (*Store)(nil)
	_ backend.Pinger            = (*Store)(nil)
)

// New opens a Store in dir, creating it (mode 0700) if it is missing,
// and counts the entries already there. Several Stores, in one process
// or many, may share a directory; they must not share it with other
// programs' files named like the Store's own (see Store.Clear).
func New(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("file: empty directory path")
	}
	if opts.MaxEntries < 0 {
		return nil, fmt.Errorf("file: MaxEntries %d is negative", opts.MaxEntries)
	}
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("file: MaxBytes %d is negative", opts.MaxBytes)
	}
	if opts.CullFrequency < ClearWhenFull {
		return nil, fmt.Errorf("file: CullFrequency %d is neither ≥ 0 nor ClearWhenFull", opts.CullFrequency)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	if filepath.Dir(abs) == abs {
		return nil, fmt.Errorf("file: %s is the file system's root; give the cache a directory of its own", abs)
	}
	if err := os.MkdirAll(filepath.Join(abs, lockDirName), 0o700); err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	if err := probeWrite(abs); err != nil {
		return nil, err
	}
	s := &Store{
		dir:           abs,
		maxEntries:    int64(opts.MaxEntries),
		maxBytes:      opts.MaxBytes,
		cullFrequency: opts.CullFrequency,
		sync:          opts.Sync,
		now:           time.Now,
	}
	if s.maxEntries == 0 {
		s.maxEntries = DefaultMaxEntries
	}
	if s.cullFrequency == 0 {
		s.cullFrequency = DefaultCullFrequency
	}
	for i := range s.stripes {
		s.stripes[i].sem = make(chan struct{}, 1)
	}
	s.index.sem = make(chan struct{}, 1)
	var n, size int64
	err = s.walk(context.Background(), func(path string, k kind) error {
		if k == kindEntry {
			if fi, err := os.Lstat(path); err == nil {
				n++
				size += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("file: count entries: %w", err)
	}
	s.count.Store(n)
	s.bytes.Store(size)
	return s, nil
}

// probeWrite checks that files can be made in dir (it may exist, yet be
// read-only to this process), with a temporary file other Stores know
// to leave alone.
func probeWrite(dir string) error {
	f, err := os.CreateTemp(dir, tempPrefix+"probe-")
	if err != nil {
		return fmt.Errorf("file: cannot write in %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// Dir returns the absolute path of the Store's directory.
func (s *Store) Dir() string { return s.dir }

// Close releases the Store's lock files. Calls after Close return
// ErrClosed; calls in progress finish first. Close does not remove the
// directory: the entries outlive the Store.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	s.dropIndex()
	return s.closeLocks()
}

// check returns the error an operation starting now should fail with.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

func (s *Store) locate(key string) loc {
	sub, name, stripe := nameOf(key)
	sub = filepath.Join(s.dir, sub)
	return loc{key: key, sub: sub, path: filepath.Join(sub, name), stripe: stripe}
}

// Get returns the value stored under key. A missing, expired or
// unreadable entry is a miss, never an error; an expired or unreadable
// file is removed (under the key's lock, and only if it is still dead
// then). A hit reads one file and takes no lock.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx); err != nil {
		return nil, false, err
	}
	l := s.locate(key)
	e, st, err := s.load(l.path, key)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("file: get: %w", err)
	case st == dead:
		s.discard(ctx, l, key)
		return nil, false, nil
	case st == missing:
		return nil, false, nil
	}
	return e.value, true, nil
}

// Set stores value under key for ttl, replacing any entry, culling first
// if the directory is full.
//
// With a byte bound, a value whose entry alone (header, key and value)
// is larger than MaxBytes is not stored: Set removes the key's entry
// instead and returns nil, as if the value had been stored and evicted
// at once, so that a later Get misses rather than return the value it
// replaced.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	l := s.locate(key)
	size := entrySize(key, value)
	if s.tooBig(size) {
		_, err := s.Delete(ctx, key)
		return err
	}
	tmp, err := s.writeTemp(l, key, value, expiryAt(s.now(), ttl))
	if err != nil {
		return err
	}
	// What the write replaces only steers the cull, so a look outside
	// the lock is good enough; commit looks again under it to count.
	p := pending{path: l.path, size: size, isNew: true}
	if fi, err := os.Lstat(l.path); err == nil {
		p.old, p.isNew = fi.Size(), false
	}
	s.makeRoom(ctx, p)
	st, err := s.lock(ctx, l.stripe)
	if err != nil {
		os.Remove(tmp)
		return err
	}
	err = s.commit(tmp, l, size)
	st.unlock()
	return err
}

// Add stores value under key for ttl only if no live entry exists, and
// reports whether it did. It is atomic across goroutines and processes:
// of many concurrent Adds of one key, exactly one stores its value.
//
// With a byte bound, Add of a value whose entry alone is larger than
// MaxBytes stores nothing and returns false, whatever the key holds:
// reporting true for an entry that was never stored would let a second
// Add of the key succeed too, which would break a lease.
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	l := s.locate(key)
	size := entrySize(key, value)
	if s.tooBig(size) {
		return false, nil
	}
	// A live entry seen without the lock is a valid answer: an Add at
	// this instant fails. Only an apparent absence needs the lock.
	if _, st, err := s.load(l.path, key); err != nil {
		return false, fmt.Errorf("file: add: %w", err)
	} else if st == alive {
		return false, nil
	}
	p := pending{path: l.path, size: size, isNew: true}
	if fi, err := os.Lstat(l.path); err == nil {
		p.old, p.isNew = fi.Size(), false // a dead entry
	}
	s.makeRoom(ctx, p)
	tmp, err := s.writeTemp(l, key, value, expiryAt(s.now(), ttl))
	if err != nil {
		return false, err
	}
	st, err := s.lock(ctx, l.stripe)
	if err != nil {
		os.Remove(tmp)
		return false, err
	}
	defer st.unlock()
	_, state, err := s.load(l.path, key)
	if err != nil || state == alive {
		os.Remove(tmp)
		if err != nil {
			return false, fmt.Errorf("file: add: %w", err)
		}
		return false, nil
	}
	if err := s.commit(tmp, l, size); err != nil {
		return false, err
	}
	return true, nil
}

// Delete removes key and reports whether a live entry existed.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	l := s.locate(key)
	st, err := s.lock(ctx, l.stripe)
	if err != nil {
		return false, err
	}
	defer st.unlock()
	return s.remove(l)
}

// remove deletes the entry file at l, which the caller has locked, and
// its marker, and reports whether it held a live entry for l.key.
func (s *Store) remove(l loc) (bool, error) {
	m, err := readMeta(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	wasLive := err == nil && m.key == l.key && live(m.expiry, s.now().UnixNano())
	if err := s.unlink(l.path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("file: delete: %w", err)
	}
	s.dropMarker(s.markerOf(l))
	return wasLive, nil
}

// Clear removes every entry in the Store's directory, the prefix tree,
// and temporary files more than a minute old (a younger one may belong
// to a write in progress). It removes only files it recognizes as its
// own: entry files (<64 hex digits>.cache) and temporary files
// (.kc-tmp-*) in the fan-out directories (<2 hex digits>), temporary
// files in the root, and the markers and nodes under tree/. It keeps the
// fan-out directories and the lock files, which other processes may
// hold: removing a held lock file would let a second process lock a new
// file of the same name. It costs O(entries).
func (s *Store) Clear(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	// Entries with markers first, each under its lock with its marker
	// (see tree.go); then whatever is left: entries without a marker
	// (unreadable ones, or of an older format) and temporary files.
	err := s.walkTree(ctx, filepath.Join(s.dir, treeDirName), true, func(marker, name string) error {
		path, stripe := s.entryOfMarker(name)
		st, err := s.lock(ctx, stripe)
		if err != nil {
			return err
		}
		defer st.unlock()
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err == nil {
		err = s.walk(ctx, func(path string, k kind) error {
			switch k {
			case kindEntry:
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			case kindTemp:
				s.removeIfStale(path)
			}
			return nil
		})
	}
	s.count.Store(0)
	s.bytes.Store(0)
	if err != nil {
		return fmt.Errorf("file: clear: %w", err)
	}
	return nil
}
