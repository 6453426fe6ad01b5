package memcached

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"time"
	"unicode/utf8"

	"keyedcache.dev/keyedcache/backend"
)

// A memcached key is at most 250 bytes with no space, control character
// or DEL. Keys that break the rule are stored under a mapped key: the key
// with every such byte replaced by '_', cut to fit, followed by
// mappedMarker and the first 128 bits of the SHA-256 of the whole key in
// hex. The mapping is the same in every process; a mapped key cannot be
// told back into the key, so ScanKeys leaves such keys out and reports
// an incomplete listing.
const (
	maxKeyLen    = backend.MaxKeyLen
	mappedMarker = "%m"
	mappedHexLen = 32
	mappedTail   = len(mappedMarker) + mappedHexLen
)

// legalKey reports whether the server accepts k as it is.
func legalKey(k string) bool {
	if len(k) > maxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// serverKey returns the key under which key is stored on the server: the
// namespace followed by key when that is a legal memcached key, else its
// mapped form.
func (s *Store) serverKey(key string) string {
	if s.ns == "" && legalKey(key) {
		return key
	}
	k := s.ns + key
	if legalKey(k) {
		return k
	}
	return mapKey(k)
}

// mapKey returns the mapped form of a key the server would reject.
func mapKey(k string) string {
	sum := sha256.Sum256([]byte(k))
	head := min(len(k), maxKeyLen-mappedTail)
	for head > 0 && head < len(k) && !utf8.RuneStart(k[head]) {
		head--
	}
	out := make([]byte, 0, head+mappedTail)
	for i := 0; i < head; i++ {
		c := k[i]
		if c <= ' ' || c == 0x7f {
			c = '_'
		}
		out = append(out, c)
	}
	out = append(out, mappedMarker...)
	return string(hex.AppendEncode(out, sum[:mappedHexLen/2]))
}

// isMapped reports whether a key read from the server is a mapped key.
func isMapped(k string) bool {
	if len(k) < mappedTail || k[len(k)-mappedTail:len(k)-mappedHexLen] != mappedMarker {
		return false
	}
	for i := len(k) - mappedHexLen; i < len(k); i++ {
		if c := k[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// maxRelative is the longest expiry memcached takes as seconds from now;
// a larger number is an absolute Unix time.
const maxRelative = 30 * 24 * 60 * 60

// expiration turns a ttl into the exptime field of a storage command.
//
// memcached keeps time in whole seconds and advances its clock once a
// second, so an entry stored with an exptime of n seconds lives between
// n-1 and n seconds. A ttl is therefore rounded up to whole seconds and
// one second is added: an entry lives at least its ttl and at most a
// second or two more. A ttl over 30 days is sent as the absolute Unix
// time it ends at, which the protocol requires (and which relies on the
// server's clock agreeing with this machine's); one that ends after
// 2038-01-19, beyond the protocol's 32-bit times, is sent as "never".
func expiration(ttl time.Duration, now time.Time) int32 {
	if ttl <= 0 {
		return 0
	}
	secs := int64(ttl / time.Second)
	if ttl%time.Second != 0 {
		secs++
	}
	secs++
	if secs <= maxRelative {
		return int32(secs)
	}
	abs := now.Unix() + secs
	if abs > math.MaxInt32 {
		return 0
	}
	return int32(abs)
}
