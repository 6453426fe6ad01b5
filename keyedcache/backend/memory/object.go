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
