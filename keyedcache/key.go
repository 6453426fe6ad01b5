package keyedcache

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
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
	nilMarker   = "%nil"   // a nil part
	emptyMarker = "%empty" // a key with nothing in it
	hashMarker  = "%h"     // followed by hashHexLen hex digits
	hashHexLen  = 32
)

// maxDepth bounds recursion through Identifier values and nested
// composite values, so a cycle cannot run away.
const maxDepth = 32

// Key builds the key for parts under this cache's prefix and version; see
// the package documentation for the rules. It never panics, and the key
// it returns is accepted by every backend.
func (c *Cache) Key(parts ...any) string {
	return buildKey(c.prefix, parts)
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
	return fitKey(b)
}

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
		return appendHash(nil, canonicalHash(reflect.ValueOf(p)))
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
	return appendHash(nil, canonicalHash(rv))
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
// everything else a backend could reject is percent-escaped.
func appendText(b []byte, s string) []byte {
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
			continue
		}
		if c == '%' {
			if n := builtEscapeLen(s[i:]); n > 0 {
				b = append(b, s[i:i+n]...)
				i += n
				continue
			}
		}
		if needsEscape(c) {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		} else {
			b = append(b, c)
		}
		i++
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
	case len(s) >= len(nilMarker) && s[:len(nilMarker)] == nilMarker:
		return len(nilMarker)
	case len(s) >= len(emptyMarker) && s[:len(emptyMarker)] == emptyMarker:
		return len(emptyMarker)
	case len(s) >= len(hashMarker)+hashHexLen && s[:len(hashMarker)] == hashMarker:
		for i := len(hashMarker); i < len(hashMarker)+hashHexLen; i++ {
			if !isLowerHex(s[i]) {
				return 0
			}
		}
		return len(hashMarker) + hashHexLen
	}
	return 0
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// isBuiltKey reports whether s is already a finished key of a cache with
// this prefix: valid key text that starts with the prefix and fits every
// backend. Such a string passes through Key unchanged.
func isBuiltKey(prefix, s string) bool {
	if s == "" || len(s) > backend.MaxKeyLen || len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return false
	}
	for i := 0; i < len(s); {
		c := s[i]
		if plainKeyByte[c] {
			i++
			continue
		}
		switch {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			i += size
		case c == '%':
			n := builtEscapeLen(s[i:])
			if n == 0 {
				return false
			}
			i += n
		case needsEscape(c):
			return false
		default:
			i++
		}
	}
	return true
}

// plainKeyByte marks the bytes that stand for themselves in key text:
// printable ASCII but '%'.
var plainKeyByte = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = c != '%'
	}
	return t
}()

// fitKey returns b as a key no backend rejects: unchanged when it is
// short enough, otherwise a readable head followed by a hash of the
// whole.
func fitKey(b []byte) string {
	if len(b) <= backend.MaxKeyLen {
		return string(b)
	}
	sum := sha256.Sum256(b)
	head := backend.MaxKeyLen - len(hashMarker) - hashHexLen
	// Do not cut through a UTF-8 sequence or an escape.
	for head > 0 && !utf8.RuneStart(b[head]) {
		head--
	}
	for i := max(head-len(hashMarker)-hashHexLen, 0); i < head; i++ {
		if b[i] == '%' {
			if n := builtEscapeLen(string(b[i:])); n > 0 && i+n > head {
				head = i
				break
			}
		}
	}
	out := make([]byte, 0, backend.MaxKeyLen)
	out = append(out, b[:head]...)
	return string(appendHash(out, sum))
}
