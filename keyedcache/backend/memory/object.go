package memory

import (
	"time"
)

// ByReference reports whether the store was opened in by-reference mode
// (by_reference=true, or Options.ByReference), in which the core stores
// Go values through SetObject and GetObject instead of encoding them.
func (s *Store) ByReference() bool {
	return s.opts.ByReference
}

// GetObject returns the value stored under key by SetObject as obj, or
// the bytes stored by Set as raw (obj is then nil, and raw is never nil,
// even for an empty value, so raw == nil tells the two apart). Neither
// is copied: obj is the very value stored, and raw is the store's own
// slice, which the caller must not modify. After Close it reports
// found == false.
func (s *Store) GetObject(key string) (obj any, raw []byte, found bool) {
	if s.closed.Load() {
		return nil, nil, false
	}
	it, ok := s.c.GetIfPresent(key)
	if !ok {
		return nil, nil, false
	}
	if it.isObj() {
		return it.obj(), nil, true
	}
	return nil, it.bytes(), true
}

// SetObject stores v itself under key for ttl, whatever ByReference
// reports: every GetObject returns v, and a change to what v refers to
// is seen by all of them. Get reports the entry as missing (it has no
// bytes) and Incr as not numeric. It counts towards max_bytes as an
// entry with an empty value. After Close it does nothing.
func (s *Store) SetObject(key string, v any, ttl time.Duration) {
	if s.closed.Load() {
		return
	}
	s.put(key, objectItem(v, ttl))
}

// GetDecoded returns the bytes stored under key, the store's own slice,
// and the decoded form kept beside them by KeepDecoded (nil if none).
// An entry stored by SetObject, or any entry after Close, is not found.
func (s *Store) GetDecoded(key string) (raw []byte, decoded any, found bool) {
	if s.closed.Load() {
		return nil, nil, false
	}
	it, ok := s.c.GetIfPresent(key)
	if !ok || it.isObj() {
		return nil, nil, false
	}
	if e := it.ext.Load(); e != nil {
		decoded = e.v
	}
	return it.bytes(), decoded, true
}

// KeepDecoded keeps decoded beside the entry under key if it still holds
// raw, the slice GetDecoded returned for it, replacing what was kept.
// A decoded form lives as long as its entry's bytes: a write of the key
// stores bytes without one. A store with a byte bound keeps nothing, as
// what a decoded value takes is not known and would not be counted.
func (s *Store) KeepDecoded(key string, raw []byte, decoded any) {
	if s.weigh != nil || s.closed.Load() {
		return
	}
	it, ok := s.c.GetEntryQuietly(key)
	if !ok || it.Value.isObj() || !sameBytes(it.Value.bytes(), raw) {
		return
	}
	it.Value.ext.Store(&extra{v: decoded})
}

// sameBytes reports whether a and b are the same slice of memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
