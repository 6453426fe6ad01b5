package file

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"keyedcache.dev/internal/keyheap"
)

// File names are hashes, so the directory itself knows nothing of key
// order. ScanKeysAfter keeps a listing index instead: for each fan-out
// directory, the keys of its entry files in order, and what the
// directory looked like (stat) when its names were read. A key's file
// name is the hash of the key, so a name, once read, always stands for
// the same key; only the set of names in a directory changes, and every
// change to it (create, rename, unlink, by any Store or process) moves
// the directory's modification time. A later listing stats the 256
// directories, lists again only those that changed, reads the headers
// of the names it has not seen before, and forgets the names that are
// gone. The keys it then hands out are checked one by one against their
// files, so expiry and deletes are exact whatever the index says.

// numSubdirs is the number of fan-out directories: one per value of the
// first byte of a key's hash.
const numSubdirs = 256

// subdirNames are the fan-out directories' names, "00" to "ff".
var subdirNames = func() (names [numSubdirs]string) {
	for i := range names {
		names[i] = fmt.Sprintf("%02x", i)
	}
	return names
}()

// racyMargin is how much older than the moment its reading began a
// directory's modification time must be for the index to trust it at
// the next listing. File systems stamp times at a granularity of their
// own (a clock tick on Linux, a second or two on some), so a change
// made in the same tick as the read would leave the stamp as it was; a
// directory stamped within racyMargin of the read is therefore read
// again at the next listing, changed or not, until its stamp is old
// enough. 2 s covers the coarsest common granularity (FAT's 2 s) and
// a clock tick's lag of the file system clock behind time.Now. It
// assumes the clock that stamps the directory is within the margin of
// this process's: on a network file system whose server clock drifts
// further, or whose client caches attributes (NFS caches a
// directory's for up to a minute by default), other machines' changes
// show up late.
const racyMargin = 2 * time.Second

// listWorkers bounds the fan-out directories refreshed at once. Reading
// headers is mostly waiting for the file system, so a few more than the
// CPUs keeps a cold disk busy without flooding it.
func listWorkers() int { return min(8, 2*runtime.GOMAXPROCS(0)) }

// keyIndex is a Store's listing index. Only ScanKeysAfter uses it: it is
// built on the first call, so a Store that never lists in order pays
// nothing for it, and no write or read of an entry touches it.
type keyIndex struct {
	// sem (capacity 1) is held while the index is refreshed; a channel
	// rather than a mutex so that waiting for it honours ctx.
	sem  chan struct{}
	subs *[numSubdirs]subIndex // nil until the first listing

	// root is the Store's directory as stat'ed at the start of the last
	// refresh that went through every fan-out directory, and rootRacy
	// whether its stamp was within racyMargin of then. Creating or
	// removing a fan-out directory changes the root, so while it shows
	// no change the directories missing then are missing still, and a
	// listing need not stat them.
	root     dirState
	rootRacy bool
	paths    [numSubdirs]string // the fan-out directories' paths

	// relists and headers count directory reads and header reads made
	// to refresh the index, so that tests can check what a listing
	// costs without timing it.
	relists, headers atomic.Int64
}

// subIndex is the index of one fan-out directory.
type subIndex struct {
	listed bool     // read at least once
	state  dirState // the directory as stat'ed just before it was read
	// racy reports that the directory's modification time was within
	// racyMargin of the start of its read, so that a change in the same
	// tick may not show: it is read again at the next listing.
	racy bool
	// names maps the hash in each entry file's name to its key. It holds
	// only files whose header parsed and whose key hashes to the name:
	// any other file is read again each time its directory is.
	names map[[sha256.Size]byte]string
	// keys are the keys of names in byte order. A refresh replaces the
	// slice and never writes into it, so a listing may walk it after
	// letting go of sem.
	keys []string
}

// dirState is what a stat says about a fan-out directory: enough to
// tell, together with racyMargin, whether its names may have changed.
type dirState struct {
	fi    os.FileInfo // nil: the directory does not exist
	ctime int64       // inode change time in ns where the system has one, else 0
}

func statDir(path string) (dirState, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return dirState{}, nil
		}
		return dirState{}, err
	}
	if !fi.IsDir() {
		return dirState{}, nil // not ours: holds no entries
	}
	return dirState{fi: fi, ctime: changeTime(fi)}, nil
}

// same reports whether two stats of a directory show no change: the
// same directory (not one removed and made again), with the same
// modification and change times and size.
func (a dirState) same(b dirState) bool {
	if a.fi == nil || b.fi == nil {
		return a.fi == nil && b.fi == nil
	}
	return os.SameFile(a.fi, b.fi) && a.fi.ModTime().Equal(b.fi.ModTime()) &&
		a.fi.Size() == b.fi.Size() && a.ctime == b.ctime
}

// racyAt reports whether a directory stat'ed just after start may have
// changed since without its modification time showing it.
func (a dirState) racyAt(start time.Time) bool {
	return a.fi != nil && !a.fi.ModTime().Before(start.Add(-racyMargin))
}

// ScanKeysAfter calls fn, in ascending byte order, with every live key
// that starts with prefix and sorts strictly after after ("" starts at
// the first key), until fn returns false (backend.SortedKeyLister). A
// page of keys costs about the page, however many entries the directory
// holds, once the Store has built its listing index:
//
//   - The first call in a Store reads the header of every entry file
//     once (O(entries): about 5 s for a million entries on a warm page
//     cache) to learn each file's key, and keeps for each of the 256
//     fan-out directories its keys in order. The index takes 100 to
//     150 bytes of memory per entry with keys of 14 bytes (150 MB for
//     a million), plus what longer keys add, for as long as the Store
//     lives; Close drops it.
//   - Every later call stats the directory and its fan-out
//     directories (all 256 once a few thousand entries were written)
//     and reads again only those that changed since, by any Store or
//     process: their names, and the headers of names not seen before.
//     A directory stamped less than racyMargin (2 s) before it was
//     last read is read again regardless, since its modification time
//     may not show a change made in the same clock tick. Under a write
//     load that touches every fan-out directory between two calls, a
//     call thus reads every name in the directory (but no header):
//     about 0.5 s for a million entries, far less than ScanKeys (10 s),
//     but more than the page.
//   - Then it merges the directories' keys from the cursor, and reads
//     the header of each key before handing it to fn, so that a key
//     expired, deleted or corrupt is skipped: a page of 50 live keys
//     reads 50 headers (more if it steps over dead ones), about 1 ms
//     in all whether the directory holds ten thousand entries or a
//     million.
//
// fn runs without any lock held, so it may call the Store, listing
// included. A key written or deleted during the call may or may not be
// listed; one written or deleted before it began is listed or not
// exactly, whoever wrote it. The listing is otherwise complete, so
// complete is true unless err is not nil. ctx is checked between
// directories, between header reads and between keys.
func (s *Store) ScanKeysAfter(ctx context.Context, prefix, after string, fn func(key string) bool) (complete bool, err error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	keys, err := s.refreshIndex(ctx)
	if err != nil {
		return false, fmt.Errorf("file: scan keys: %w", err)
	}
	cs := make([]*cursor, 0, numSubdirs)
	for _, ks := range keys {
		i := sort.SearchStrings(ks, prefix)
		if after != "" {
			i = max(i, sort.Search(len(ks), func(j int) bool { return ks[j] > after }))
		}
		// The keys under prefix are a run that starts at prefix's place,
		// so a directory whose next key leaves prefix has no more.
		if i < len(ks) && strings.HasPrefix(ks[i], prefix) {
			cs = append(cs, &cursor{keys: ks, i: i})
		}
	}
	h := keyheap.Init(cs)
	for h.Len() > 0 {
		c := h.Min()
		key := c.keys[c.i]
		if c.i++; c.i < len(c.keys) && strings.HasPrefix(c.keys[c.i], prefix) {
			h.Fix()
		} else {
			h.Drop()
		}
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("file: scan keys: %w", err)
		}
		if !s.liveKey(key) {
			continue
		}
		if !fn(key) {
			break
		}
	}
	return true, nil
}

// liveKey reports whether key has a live entry now, from its header.
func (s *Store) liveKey(key string) bool {
	m, err := readMeta(s.locate(key).path)
	return err == nil && m.key == key && live(m.expiry, s.now().UnixNano())
}

// cursor walks one directory's sorted keys.
type cursor struct {
	keys []string
	i    int
}

// Head returns the cursor's current key, for keyheap.
func (c *cursor) Head() string { return c.keys[c.i] }

// refreshIndex brings the listing index up to date with the directory
// and returns each fan-out directory's sorted keys. The slices are never
// written again, so the caller may read them without the lock.
//
// A refresh cut short (ctx done, an I/O error) keeps the directories it
// finished, so the next call goes on from there.
func (s *Store) refreshIndex(ctx context.Context) (*[numSubdirs][]string, error) {
	ix := &s.index
	select {
	case ix.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() {
		if s.closed.Load() {
			ix.subs = nil // Close could not take the index: drop it here
		}
		<-ix.sem
	}()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if ix.subs == nil {
		ix.subs = new([numSubdirs]subIndex)
		ix.root = dirState{}
		for i := range ix.paths {
			ix.paths[i] = filepath.Join(s.dir, subdirNames[i])
		}
	}
	// The time is taken before a stat and a directory's stat before its
	// names are read, so that a change the stat misses is either in the
	// names or leaves the directory racy.
	rootStart := time.Now()
	root, err := statDir(s.dir)
	if err != nil {
		return nil, err
	}
	rootSame := ix.root.fi != nil && !ix.rootRacy && ix.root.same(root)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listWorkers())
	var statErr error
	for i := range numSubdirs {
		if gctx.Err() != nil {
			break // a worker failed or ctx is done: g.Wait and ctx tell which
		}
		sub := &ix.subs[i]
		if rootSame && sub.listed && sub.state.fi == nil {
			continue // missing when the root was last stat'ed, and since
		}
		start := time.Now()
		st, err := statDir(ix.paths[i])
		if err != nil {
			statErr = err
			break
		}
		if sub.listed && !sub.racy && sub.state.same(st) {
			continue
		}
		g.Go(func() error { return s.relist(gctx, sub, ix.paths[i], st, start) })
	}
	if err := cmp.Or(g.Wait(), statErr, ctx.Err()); err != nil {
		return nil, err
	}
	// Every fan-out directory was stat'ed after root, or skipped as
	// missing under a root that root matches.
	ix.root, ix.rootRacy = root, root.racyAt(rootStart)
	keys := new([numSubdirs][]string)
	for i := range ix.subs {
		keys[i] = ix.subs[i].keys
	}
	return keys, nil
}

// relist reads the names in the fan-out directory at path, stat'ed as st
// just after start, and brings sub up to date: it reads the header of
// each name it does not know and drops the names that are gone. It
// changes sub only once it has read everything, so that a relist cut
// short leaves sub as it was, to be read again at the next listing.
func (s *Store) relist(ctx context.Context, sub *subIndex, path string, st dirState, start time.Time) error {
	var names []string
	if st.fi != nil {
		var err error
		names, err = readDirNames(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNotDir) {
			return err
		}
		s.index.relists.Add(1)
	}
	type named struct {
		hash [sha256.Size]byte
		key  string
	}
	var added []named
	known := 0
	for _, n := range names {
		h, ok := entryHash(n)
		if !ok {
			continue
		}
		if _, ok := sub.names[h]; ok {
			known++
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		s.index.headers.Add(1)
		key, err := readKey(filepath.Join(path, n))
		// A file gone since the directory was read, one that does not
		// parse, or one whose key does not hash to its name (not the
		// Store's: Get would never find it) is left out; it is read
		// again the next time the directory is, so that an entry
		// renamed over it later is seen.
		if err != nil || sha256.Sum256([]byte(key)) != h {
			continue
		}
		added = append(added, named{h, key})
	}
	// Names are unique in a directory, so unless every known name was
	// seen again some are gone.
	var gone map[string]struct{}
	if known < len(sub.names) {
		present := make(map[[sha256.Size]byte]struct{}, len(names))
		for _, n := range names {
			if h, ok := entryHash(n); ok {
				present[h] = struct{}{}
			}
		}
		gone = make(map[string]struct{}, len(sub.names)-known)
		for h, k := range sub.names {
			if _, ok := present[h]; !ok {
				gone[k] = struct{}{}
				delete(sub.names, h) // deleting during range is allowed
			}
		}
	}
	if len(added) > 0 || len(gone) > 0 {
		if sub.names == nil {
			sub.names = make(map[[sha256.Size]byte]string, len(added))
		}
		fresh := make([]string, len(added))
		for i, a := range added {
			sub.names[a.hash] = a.key
			fresh[i] = a.key
		}
		slices.Sort(fresh)
		sub.keys = mergeKeys(sub.keys, fresh, gone)
	}
	sub.listed, sub.state, sub.racy = true, st, st.racyAt(start)
	return nil
}

// mergeKeys returns a new sorted slice of old's keys not in gone and
// added's keys. old and added are sorted and share no key.
func mergeKeys(old, added []string, gone map[string]struct{}) []string {
	out := make([]string, 0, len(old)-len(gone)+len(added))
	i := 0
	for _, k := range old {
		if _, ok := gone[k]; ok {
			continue
		}
		for i < len(added) && added[i] < k {
			out = append(out, added[i])
			i++
		}
		out = append(out, k)
	}
	return append(out, added[i:]...)
}

// entryHash returns the hash an entry file name spells, and false for a
// name that is not an entry's.
func entryHash(name string) (h [sha256.Size]byte, ok bool) {
	if !isEntryName(name) {
		return h, false
	}
	var src [hashHexLen]byte // a copy on the stack: every name of a busy directory comes here
	copy(src[:], name)
	_, err := hex.Decode(h[:], src[:])
	return h, err == nil
}

// dropIndex lets go of the listing index, after Close. A listing that
// holds the index then drops it as it lets go; in the instant between
// the two the index stays, for as long as the Store is reachable.
func (s *Store) dropIndex() {
	select {
	case s.index.sem <- struct{}{}:
		s.index.subs = nil
		<-s.index.sem
	default:
	}
}

// readKey returns the key in the header of the entry file at path. It
// is readMeta for the index, which needs only the key: one read for
// the header and a key of a usual length, and no stat, since the file's
// size matters only to whether the entry is live, which a listing
// checks with readMeta before it hands the key out. The caller checks
// the key against the file's name, which a garbage header fails.
func readKey(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var buf [512]byte
	n, err := io.ReadAtLeast(f, buf[:], headerSize)
	if err != nil {
		return "", errCorrupt
	}
	h, err := parseHeader(buf[:n])
	if err != nil {
		return "", errCorrupt
	}
	end := headerSize + int(h.keyLen)
	if end <= n {
		return string(buf[headerSize:end]), nil
	}
	key := make([]byte, h.keyLen)
	m := copy(key, buf[headerSize:n])
	if _, err := io.ReadFull(f, key[m:]); err != nil {
		return "", errCorrupt
	}
	return string(key), nil
}
