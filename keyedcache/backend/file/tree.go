package file

import (
	"context"
	"errors"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The prefix tree lets DeletePrefix and ScanKeys find the keys under a
// prefix without reading every entry's header.
//
// Keys are read as segments joined by sep, as keyedcache builds them
// ("product::123::summary"). Under <dir>/tree there is one directory,
// a node, for each run of leading segments that some key continues:
// tree/<h(product)>/<h(123)>/ is the node of "product::123::", where h
// is a 64-bit FNV-1a hash of the segment in 16 hex digits. A node holds
// one empty marker file for each key whose segments before its last one
// lead there, named like that key's entry file without the suffix: the
// marker of "product::123::summary" is tree/<h(product)>/<h(123)>/<the
// 64 hex digits of its entry>. Keys without sep have their markers in
// tree/ itself. Only the first maxTreeDepth segments make nodes; a
// deeper key's marker goes in the node at that depth.
//
// The invariant the tree keeps, across goroutines, Stores and
// processes: every entry file has its marker. A writer creates the
// marker before it renames the entry into place, under the key's lock;
// whoever removes an entry removes the file first and its marker after,
// and removes a marker only under the key's lock (except a cull, which
// may leave a marker behind: see cull). A crash between the two steps
// leaves a marker without an entry, which costs its node a file until a
// DeletePrefix, ScanKeys or Clear that walks the node removes it; it
// never leaves an entry without its marker. So a walk of the node of P
// and the nodes below it meets every entry whose key starts with P, when
// P ends with sep within maxTreeDepth segments; for any other prefix the
// walk starts at the deepest node P continues, and checks each key.
//
// Hash collisions between segments are harmless: every key a walk meets
// is read from its entry and checked against the prefix before it is
// removed or listed.
const (
	treeDirName  = "tree"
	sep          = "::" // keyedcache.Sep
	maxTreeDepth = 16
	nodeNameLen  = 16 // hex digits of a node name
	// markerRetries bounds how often a writer recreates a node that a
	// concurrent DeletePrefix or Delete removed under it as empty.
	markerRetries = 100
)

// nodeOf returns the path of the tree node that a key starting with
// prefix has its marker in or under: the node of prefix's leading
// segments up to its last sep, at most maxTreeDepth of them.
func (s *Store) nodeOf(prefix string) string {
	b := make([]byte, 0, len(s.dir)+len(treeDirName)+32)
	b = append(append(append(b, s.dir...), filepath.Separator), treeDirName...)
	rest := prefix
	for depth := 0; depth < maxTreeDepth; depth++ {
		i := strings.Index(rest, sep)
		if i < 0 {
			break
		}
		h := fnv.New64a()
		h.Write([]byte(rest[:i]))
		b = append(b, filepath.Separator)
		b = appendHex16(b, h.Sum64())
		rest = rest[i+len(sep):]
	}
	return string(b)
}

func appendHex16(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[(v>>shift)&0xf])
	}
	return b
}

// parentOf returns key up to and including its last sep ("" if none):
// the prefix whose node holds key's marker.
func parentOf(key string) string {
	i := strings.LastIndex(key, sep)
	if i < 0 {
		return ""
	}
	return key[:i+len(sep)]
}

// markerOf returns the path of the marker of the entry at l.
func (s *Store) markerOf(l loc) string {
	return filepath.Join(s.nodeOf(parentOf(l.key)), strings.TrimSuffix(filepath.Base(l.path), entrySuffix))
}

// ensureMarker creates the marker of the entry at l if it is missing,
// with the nodes above it. The caller holds the key's lock.
func (s *Store) ensureMarker(l loc) error {
	path := s.markerOf(l)
	for try := 0; ; try++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			err = f.Close()
			if err == nil && s.sync {
				err = syncDir(filepath.Dir(path))
			}
			return err
		}
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) || try == markerRetries {
			return err
		}
		// A DeletePrefix or Delete may remove an empty node between
		// this MkdirAll and the next OpenFile; then this loops again.
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if s.sync {
			// New nodes must reach the disk before the entry does.
			for d := filepath.Dir(path); len(d) > len(s.dir); d = filepath.Dir(d) {
				if err := syncDir(filepath.Dir(d)); err != nil {
					return err
				}
			}
		}
	}
}

// dropMarker removes the marker at path, and then its node and the
// nodes above it while they are empty (never tree/ itself). The caller
// holds the lock of the marker's key, and has removed its entry file.
func (s *Store) dropMarker(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	root := filepath.Join(s.dir, treeDirName)
	for d := filepath.Dir(path); len(d) > len(root); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			return // not empty, or gone
		}
	}
}

// syncDir fsyncs the directory at path.
func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// isMarkerName reports whether name is a marker file name.
func isMarkerName(name string) bool {
	return len(name) == hashHexLen && isLowerHex(name)
}

// isNodeName reports whether name is a tree node name.
func isNodeName(name string) bool {
	return len(name) == nodeNameLen && isLowerHex(name)
}

// entryOfMarker returns the entry file and stripe a marker name points at.
func (s *Store) entryOfMarker(name string) (path string, stripe int) {
	b, _ := strconv.ParseUint(name[2:4], 16, 8)
	return filepath.Join(s.dir, name[:2], name+entrySuffix), int(b) % numStripes
}

// walkTree calls fn with the path and name of every marker in node and
// the nodes below it, depth first. After a node's markers and children
// it removes the node, with prune, if it is then empty (unless it is
// tree/ itself), so that a DeletePrefix leaves no empty nodes behind. A node that
// vanishes while it runs is skipped: whoever removed it found it empty.
func (s *Store) walkTree(ctx context.Context, node string, prune bool, fn func(path, name string) error) error {
	names, err := readDirNames(node)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) {
			return nil
		}
		return err
	}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(node, n)
		switch {
		case isMarkerName(n):
			err = fn(p, n)
		case isNodeName(n):
			err = s.walkTree(ctx, p, prune, fn)
		}
		if err != nil {
			return err
		}
	}
	if prune && node != filepath.Join(s.dir, treeDirName) {
		os.Remove(node) // fails unless empty
	}
	return nil
}
