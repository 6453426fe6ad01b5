package keyedcache

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"keyedcache.dev/keyedcache/backend"
)

// Sep joins the parts of a key.
const Sep = "::"

// KV is a set of named key parts. Its pairs are sorted by name and
// appended as name::value, as Django's keyword arguments were:
// Key("test", KV{"more": "yes"}) is "test::more::yes".
type KV map[string]any

// Keyer is implemented by values that know their own key. Key uses the
// returned string as key text in place of the value.
type Keyer interface {
	CacheKey() string
}

// Identifier is implemented by values that have an identity, such as a
// database row's primary key (Django's pk). Key uses the key of the
// returned value in place of the value.
type Identifier interface {
	CacheID() any
}

// Markers the key builder writes. A '%' followed by a lowercase letter
// never comes from escaping (escapes use uppercase hex), so no string is
// escaped into one of these.
const (
	nilMarker       = "%nil"       // a nil part
	emptyMarker     = "%empty"     // a key with nothing in it
	unkeyableMarker = "%unkeyable" // a part too large or deep to key; see Key
	hashMarker      = "%h"         // followed by hashHexLen hex digits
	tailMarker      = "%t"         // likewise; see fitKey
	hashHexLen      = 32
)

// maxDepth bounds recursion through Identifier values and nested
// composite values, so a cycle cannot run away.
const maxDepth = 32

// Key builds the key for parts under this cache's prefix and version; see
// the package documentation for the rules. It never panics, and the key
// it returns is accepted by every backend.
//
// A part Key cannot encode within its limits — one nested more than 512
// levels deep, or one that shares subvalues so often that writing it out
// would take more than 16,384 repeated values — has no key: Key then
// returns the alias's prefix followed by "%unkeyable", under which
// nothing is ever stored (writes to it return ErrUnkeyable; reads miss).
// A value that refers to itself is not such a part: it gets a key.
func (c *Cache) Key(parts ...any) string {
	return buildKey(c.prefix, parts)
}

// unkeyable reports whether key is the key Key returns for a part it
// cannot encode (see Key).
func (c *Cache) unkeyable(key string) bool {
	return len(key) == len(c.prefix)+len(unkeyableMarker) && strings.HasSuffix(key, unkeyableMarker)
}

// keyFor builds the key for a key string given to a write (a built key,
// or text to build one from) without boxing it.
func (c *Cache) keyFor(key string) string {
	return buildKeyHead(c.prefix, key, true, nil)
}

func buildKey(prefix string, parts []any) string {
	return buildKeyHead(prefix, "", false, parts)
}

// buildKeyHead builds a key from an optional string head and parts. The
// head lets typed callers pass a first string part without boxing it
// into an interface, which would cost an allocation on every read.
func buildKeyHead(prefix, head string, hasHead bool, parts []any) string {
	ownPrefix := prefix
	if hasHead && len(parts) == 0 && isBuiltKey(prefix, head) {
		return head // a built key passed back: unchanged, no allocation
	}
	if !hasHead && len(parts) == 1 {
		if s, ok := parts[0].(string); ok {
			return buildKeyHead(prefix, s, true, nil)
		}
		parts = flattenLone(parts)
	}
	if !hasHead && len(parts) > 0 {
		head, hasHead = parts[0].(string)
		if hasHead {
			parts = parts[1:]
		}
	}
	// The key is built in a stack buffer; b is never handed to a function
	// that could keep it, so building from scalar parts allocates only the
	// result.
	var arr [256]byte
	b := arr[:0]
	first := true
	if prefix != "" {
		if hasHead && len(head) >= len(prefix) && head[:len(prefix)] == prefix {
			prefix = "" // the first part is already a key of this cache
		}
		if !hasHead && len(parts) == 0 {
			b = append(b, prefix[:len(prefix)-len(Sep)]...)
			first = false
		} else {
			b = append(b, prefix...)
		}
	}
	if hasHead {
		b, first = appendText(b, head), false
	}
	for _, p := range parts {
		if nb, ok := appendScalar(b, p, first); ok {
			b, first = nb, false
			continue
		}
		if kv, ok := p.(KV); ok {
			b, first = appendKV(b, kv, first)
			continue
		}
		if text := partText(p, 0); text != nil {
			if !first {
				b = append(b, Sep...)
			}
			b, first = append(b, text...), false
		}
	}
	if len(b) == 0 {
		return emptyMarker
	}
	if bytes.Contains(b, unkeyable) {
		return ownPrefix + unkeyableMarker
	}
	return fitKey(b)
}

var unkeyable = []byte(unkeyableMarker)

// flattenLone makes a lone slice stand for its elements.
func flattenLone(parts []any) []any {
	switch v := parts[0].(type) {
	case []any:
		return v
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case string, []byte, nil:
		return parts
	}
	rv := reflect.ValueOf(parts[0])
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() == reflect.Uint8 {
		return parts
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out
}

// appendScalar appends a part of a kind with one canonical text (and the
// separator before it), reporting false for any other kind.
func appendScalar(b []byte, p any, first bool) ([]byte, bool) {
	if !first {
		switch p.(type) {
		case string, int, int64, int32, int16, int8, uint, uint64, uint32, uint16, uint8,
			float64, float32, bool, nil, time.Time, time.Duration, []byte:
			b = append(b, Sep...)
		default:
			return b, false
		}
	}
	if nb, ok := appendInteger(b, p); ok {
		return nb, true
	}
	switch v := p.(type) {
	case string:
		return appendText(b, v), true
	case float64:
		return appendFloat(b, v, 64), true
	case float32:
		return appendFloat(b, float64(v), 32), true
	case bool:
		return strconv.AppendBool(b, v), true
	case nil:
		return append(b, nilMarker...), true
	case time.Time:
		return v.UTC().AppendFormat(b, time.RFC3339Nano), true
	case time.Duration:
		return append(b, v.String()...), true
	case []byte:
		return appendText(b, string(v)), true
	}
	return b, false
}

// appendKV appends KV pairs sorted by name, each as name::value. It is
// kept out of partText's recursion so that b can stay on the stack.
func appendKV(b []byte, kv KV, first bool) ([]byte, bool) {
	var arr [8]string
	names := arr[:0]
	for k := range kv {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !first {
			b = append(b, Sep...)
		}
		b, first = appendText(b, k), false
		if nb, ok := appendScalar(b, kv[k], false); ok {
			b = nb
			continue
		}
		if text := partText(kv[k], 1); text != nil {
			b = append(append(b, Sep...), text...)
		}
	}
	return b, first
}

// appendInteger appends a value of one of Go's integer types in decimal,
// reporting false for any other type. Keys and stored integers share it.
func appendInteger(b []byte, p any) ([]byte, bool) {
	switch v := p.(type) {
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case int32:
		return strconv.AppendInt(b, int64(v), 10), true
	case int16:
		return strconv.AppendInt(b, int64(v), 10), true
	case int8:
		return strconv.AppendInt(b, int64(v), 10), true
	case uint:
		return strconv.AppendUint(b, uint64(v), 10), true
	case uint64:
		return strconv.AppendUint(b, v, 10), true
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), true
	case uint16:
		return strconv.AppendUint(b, uint64(v), 10), true
	case uint8:
		return strconv.AppendUint(b, uint64(v), 10), true
	}
	return b, false
}

// partText returns the key text of a part that is not a scalar: KV
// pairs, Keyer, Identifier, TextMarshaler, named scalar types, pointers,
// and composite values (hashed). It returns nil for a part that adds
// nothing (an empty KV).
func partText(p any, depth int) []byte {
	if b, ok := appendScalar(nil, p, true); ok {
		return b
	}
	if depth > maxDepth { // an identity that never ends: key the value itself
		return hashText(reflect.ValueOf(p))
	}
	switch v := p.(type) {
	case KV: // nested in another KV
		names := slices.Sorted(maps.Keys(v))
		var b []byte
		for i, k := range names {
			if i > 0 {
				b = append(b, Sep...)
			}
			b = append(append(appendText(b, k), Sep...), partText(v[k], depth+1)...)
		}
		return b
	case Keyer:
		if isNilPointer(p) {
			return []byte(nilMarker)
		}
		return appendText(nil, v.CacheKey())
	case Identifier:
		if isNilPointer(p) {
			return []byte(nilMarker)
		}
		return partText(v.CacheID(), depth+1)
	case encoding.TextMarshaler:
		if isNilPointer(p) {
			return []byte(nilMarker)
		}
		if t, err := v.MarshalText(); err == nil {
			return appendText(nil, string(t))
		}
	}
	rv := reflect.ValueOf(p)
	switch rv.Kind() {
	case reflect.String:
		return appendText(nil, rv.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(nil, rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(nil, rv.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return appendFloat(nil, rv.Float(), rv.Type().Bits())
	case reflect.Bool:
		return strconv.AppendBool(nil, rv.Bool())
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return []byte(nilMarker)
		}
		return partText(rv.Elem().Interface(), depth+1)
	}
	return hashText(rv)
}

// hashText is the key text of a composite value: a hash of its canonical
// encoding, or the unkeyable marker.
func hashText(rv reflect.Value) []byte {
	sum, ok := canonicalHash(rv)
	if !ok {
		return []byte(unkeyableMarker)
	}
	return appendHash(nil, sum)
}

func isNilPointer(p any) bool {
	rv := reflect.ValueOf(p)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

func appendFloat(b []byte, f float64, bits int) []byte {
	if f == 0 {
		return append(b, '0') // -0 and +0 are one number
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, bits) // 100, not 1e+02
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

func appendHash(b []byte, sum [sha256.Size]byte) []byte {
	b = append(b, hashMarker...)
	return hex.AppendEncode(b, sum[:hashHexLen/2])
}

// needsEscape reports whether byte c must be percent-escaped in key text:
// spaces, control characters and '%' itself (non-ASCII bytes are checked
// as UTF-8 separately).
func needsEscape(c byte) bool {
	return c <= ' ' || c == 0x7f || c == '%'
}

const upperHex = "0123456789ABCDEF"

// appendText appends a string as key text: "::" in it separates parts,
// and an escape or marker the builder itself writes keeps its meaning;
// everything else a backend could reject is percent-escaped. So is a
// lone ':' at either end of a part ("a:" → "a%3A"): a key then never holds
// ":::", and "::" always separates parts where it first appears, so
// Key("a", "b:", "c") and Key("a", "b", ":c") differ, and a key's parent
// is a prefix of it at one place only. Every call starts a part.
func appendText(b []byte, s string) []byte {
	if isKeyText(s) { // text that needs nothing escaped, such as a built key
		return append(b, s...)
	}
	return escapeText(b, s)
}

// escapeText is appendText's way through text that needs escaping.
func escapeText(b []byte, s string) []byte {
	start := true // at the start of a part
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, '%', upperHex[c>>4], upperHex[c&15])
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			start = false
			continue
		}
		switch {
		case c == ':' && i+1 < len(s) && s[i+1] == ':':
			b = append(b, Sep...)
			i += len(Sep)
			start = true
			continue
		case c == ':' && (start || i+1 == len(s)):
			b = append(b, "%3A"...)
		case c == '%' && builtEscapeLen(s[i:]) > 0:
			n := builtEscapeLen(s[i:])
			b = append(b, s[i:i+n]...)
			i += n
			start = false
			continue
		case needsEscape(c):
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		default:
			b = append(b, c)
		}
		i++
		start = false
	}
	return b
}

// builtEscapeLen returns the length of the escape or marker that s starts
// with, or 0 if s does not start with one the builder writes.
func builtEscapeLen(s string) int {
	if len(s) >= 3 && isUpperHex(s[1]) && isUpperHex(s[2]) {
		return 3
	}
	switch {
	case strings.HasPrefix(s, nilMarker):
		return len(nilMarker)
	case strings.HasPrefix(s, emptyMarker):
		return len(emptyMarker)
	case strings.HasPrefix(s, unkeyableMarker):
		return len(unkeyableMarker)
	case strings.HasPrefix(s, hashMarker), strings.HasPrefix(s, tailMarker):
		if isHashTail(s[:min(len(s), hashTailLen)]) {
			return hashTailLen
		}
	}
	return 0
}

// hashTailLen is the length of a hash marker and its digits.
const hashTailLen = len(hashMarker) + hashHexLen

// isHashTail reports whether s is exactly a hash or tail marker and its
// lowercase hex digits.
func isHashTail(s string) bool {
	if len(s) != hashTailLen || s[0] != '%' || s[1] != hashMarker[1] && s[1] != tailMarker[1] {
		return false
	}
	for i := 2; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// isBuiltKey reports whether s is already a finished key of a cache with
// this prefix: valid key text that starts with the prefix, holds no
// marker of an unkeyable part, and is its own fitted form (see fitKey).
// Such a string passes through Key unchanged.
func isBuiltKey(prefix, s string) bool {
	if s == "" || len(s) > backend.MaxKeyLen || len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return false
	}
	return isKeyText(s) && (len(s) <= anchorMax || fitKey([]byte(s)) == s)
}

// isKeyText reports whether appendText would write s as it is (and s
// holds no unkeyable marker): printable ASCII but '%', valid UTF-8, the
// escapes and markers the builder writes, and colons only as "::" or
// inside a part. A key Key built is such text, so passing it back as a
// part costs one scan and a copy.
func isKeyText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if plainTextByte[c] { // the common case, one lookup a byte
			i++
			continue
		}
		switch {
		case c == ':':
			if i+1 < len(s) && s[i+1] == ':' {
				i += len(Sep)
				continue
			}
			// A lone ':' at the start of a part (after "::", which was
			// taken as a separator) or at the end: appendText escapes it.
			if i == 0 || s[i-1] == ':' || i+1 == len(s) {
				return false
			}
			i++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			i += size
		case c == '%':
			n := builtEscapeLen(s[i:])
			if n == 0 || s[i:i+n] == unkeyableMarker {
				return false
			}
			i += n
		default: // a space or control character
			return false
		}
	}
	return true
}

// plainTextByte marks the bytes that stand for themselves in key text
// wherever they are: printable ASCII but '%' and ':'.
var plainTextByte = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = c != '%' && c != ':'
	}
	return t
}()
