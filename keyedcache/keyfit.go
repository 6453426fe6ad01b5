package keyedcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"keyedcache.dev/keyedcache/backend"
)

// Shortening long keys.
//
// A key's parent is the key up to its last "::" (a key holds no ":::", so
// that place is unique). fitKey shortens a key part by part, from the
// left, so that shortening keeps parents: the fitted key of a child
// starts with the fitted key of its parent and "::". That is what lets
// DeleteChildren delete by prefix (and namespace generations find a
// key's ancestors) at any length:
//
//   - Parts are kept as they are while the key so far is at most
//     anchorMax (214) bytes: every key up to that length is unchanged, and
//     has room for a child's own part after it.
//   - A part that would take the key past anchorMax is cut to a readable
//     head of at most shortHead (32) bytes, followed by "%h" and 32 hex
//     digits of a SHA-256 over the fitted key so far and the whole part.
//     The key stays within anchorMax, so its children keep their own
//     parts too. A part costs at most 68 bytes this way, so any three
//     long parts (and some short ones) still fit.
//   - When even that does not fit — the key so far is longer than 178
//     bytes — the part and everything after it become one tail part: a
//     head and "%t" and 32 hex digits of a hash chained over those parts.
//     Such a key (215 to 250 bytes) has no room for children of its own;
//     they are tail parts beside it, under its parent. treeRoot returns
//     that parent, so DeleteChildren on such a key deletes the parent's
//     whole subtree: more than was asked, never less.
//
// Hashes are taken over the fitted key so far, not the original, and a
// tail's hash continues from the tail part it starts from, so building
// a key from a fitted key and more parts gives the same key as building
// it from the original parts: Key(Key(long), "x") == Key(long, "x").
const (
	anchorMax = backend.MaxKeyLen - len(Sep) - hashTailLen // 214
	shortHead = 32
)

// fitKey returns b as a key no backend rejects: unchanged when it is at
// most anchorMax bytes long, otherwise shortened as described above, to
// at most backend.MaxKeyLen bytes. b is built key text.
func fitKey(b []byte) string {
	if len(b) <= anchorMax {
		return string(b)
	}
	out := make([]byte, 0, backend.MaxKeyLen)
	for i := 0; ; {
		j := bytes.Index(b[i:], sepBytes)
		last := j < 0
		end := i + j
		if last {
			end = len(b)
		}
		part := b[i:end]
		sep := 0
		if len(out) > 0 || i > 0 {
			sep = len(Sep)
		}
		switch {
		case len(out)+sep+len(part) <= anchorMax:
			out = appendSep(out, sep)
			out = append(out, part...)
		case len(out)+sep+hashTailLen <= anchorMax:
			head := cutHead(part, min(shortHead, anchorMax-len(out)-sep-hashTailLen))
			sum := fitHash("keyedcache fit\x00", out, sep, part)
			out = appendSep(out, sep)
			out = append(out, head...)
			out = append(out, hashMarker...)
			out = hex.AppendEncode(out, sum[:hashHexLen/2])
		default:
			return string(appendTail(out, sep, b[i:]))
		}
		if last {
			return string(out)
		}
		i = end + len(Sep)
	}
}

var sepBytes = []byte(Sep)

func appendSep(out []byte, sep int) []byte {
	if sep > 0 {
		out = append(out, Sep...)
	}
	return out
}

// appendTail appends rest, the parts from the first that does not fit,
// as one tail part: the head of its first part, tailMarker and a hash
// chained over the parts. A first part that is itself a tail part (a
// fitted key given back with more parts) continues its chain.
func appendTail(out []byte, sep int, rest []byte) []byte {
	first, more, found := bytes.Cut(rest, sepBytes)
	var state [hashHexLen]byte
	head := first
	if n := len(first) - hashTailLen; n >= 0 && first[n+1] == tailMarker[1] && isHashTail(string(first[n:])) {
		head = first[:n]
		copy(state[:], first[n+len(tailMarker):])
	} else {
		sum := fitHash("keyedcache tail\x00", out, sep, first)
		hex.Encode(state[:], sum[:hashHexLen/2])
	}
	for found { // the parts after the first (a loop, not SplitSeq: b must not escape)
		var part []byte
		part, more, found = bytes.Cut(more, sepBytes)
		sum := fitHash("keyedcache tail\x00", state[:], len(Sep), part)
		hex.Encode(state[:], sum[:hashHexLen/2])
	}
	out = appendSep(out, sep)
	out = append(out, cutHead(head, backend.MaxKeyLen-len(out)-hashTailLen)...)
	out = append(out, tailMarker...)
	return append(out, state[:]...)
}

// fitHash hashes domain, the fitted key so far (or a tail's state), the
// separator if any, and part.
func fitHash(domain string, so []byte, sep int, part []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(so)
	if sep > 0 {
		h.Write(sepBytes)
	}
	h.Write(part)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// cutHead returns at most n bytes from the start of part, cut neither
// through a UTF-8 sequence nor through an escape or marker.
func cutHead(part []byte, n int) []byte {
	if n >= len(part) {
		return part
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(part[n]) {
		n--
	}
	for i := 0; i < n; {
		if part[i] == '%' {
			if e := builtEscapeLen(string(part[i:])); e > 0 {
				if i+e > n {
					n = i
					break
				}
				i += e
				continue
			}
		}
		i++
	}
	return part[:n]
}

// treeRoot returns the key whose subtree holds key's children: key
// itself when it has room for children (at most anchorMax bytes),
// otherwise its parent (see fitKey).
func treeRoot(key string) string {
	if len(key) <= anchorMax {
		return key
	}
	if i := strings.LastIndex(key, Sep); i >= 0 {
		return key[:i]
	}
	return key
}

// fitFlat returns b as a key no backend rejects, for keys that need no
// children under them (the backend keys of namespace generations): b
// itself when it is at most backend.MaxKeyLen bytes long, otherwise a
// readable head followed by "%h" and a hash of the whole.
func fitFlat(b []byte) string {
	if len(b) <= backend.MaxKeyLen {
		return string(b)
	}
	sum := sha256.Sum256(b)
	head := cutHead(b, backend.MaxKeyLen-hashTailLen)
	out := make([]byte, 0, backend.MaxKeyLen)
	out = append(out, head...)
	out = append(out, hashMarker...)
	return string(hex.AppendEncode(out, sum[:hashHexLen/2]))
}
