package keyedcache

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// A Codec turns values into bytes for a backend and back. Every backend
// stores encoded bytes, so a value read back is always a copy: changing
// it does not change the cache (the memory backend's by_reference mode is
// the one documented exception).
type Codec interface {
	// Name names the codec in configuration (codec=NAME) and on the
	// staff page.
	Name() string
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into the value v points to. It must return
	// an error, not panic, on bytes it cannot decode.
	Unmarshal(data []byte, v any) error
}

// The stored form of a value is one tag byte naming how it was encoded,
// then the encoding. Integers are the exception: they are stored as bare
// decimal text, so that Incr works on them natively on every backend
// (Redis INCRBY, memcached incr); a stored value that starts with a digit
// or '-' is such an integer.
const (
	tagCBOR  byte = 0x01
	tagJSON  byte = 0x02
	tagGob   byte = 0x03
	tagOther byte = 0x7f // any codec of the user's
)

// CBOR is the default codec: RFC 8949 through github.com/fxamacker/cbor/v2,
// chosen by measurement against gob, JSON and MessagePack (see
// bench/README.md). Times keep nanoseconds and their instant.
var CBOR Codec = cborCodec{}

// JSON encodes with encoding/json.
var JSON Codec = jsonCodec{}

// Gob encodes with encoding/gob, one self-describing stream per value.
var Gob Codec = gobCodec{}

var codecs = map[string]Codec{"cbor": CBOR, "json": JSON, "gob": Gob}

func codecTag(c Codec) byte {
	switch c.(type) {
	case cborCodec:
		return tagCBOR
	case jsonCodec:
		return tagJSON
	case gobCodec:
		return tagGob
	}
	return tagOther
}

var (
	cborEnc cbor.EncMode
	cborDec cbor.DecMode
)

func init() {
	var err error
	cborEnc, err = cbor.EncOptions{Time: cbor.TimeRFC3339Nano, Sort: cbor.SortNone}.EncMode()
	if err != nil {
		panic(err)
	}
	// Invalid UTF-8 in a string decodes as it was stored rather than
	// failing: what was stored must come back.
	// It reads values nested as deep as checkEncodable lets them be
	// written.
	cborDec, err = cbor.DecOptions{DefaultMapType: reflect.TypeFor[map[string]any](), UTF8: cbor.UTF8DecodeInvalid, MaxNestedLevels: maxNesting + 1}.DecMode()
	if err != nil {
		panic(err)
	}
}

type cborCodec struct{}

func (cborCodec) Name() string                       { return "cbor" }
func (cborCodec) Marshal(v any) ([]byte, error)      { return cborEnc.Marshal(v) }
func (cborCodec) Unmarshal(data []byte, v any) error { return cborDec.Unmarshal(data, v) }

type jsonCodec struct{}

func (jsonCodec) Name() string                       { return "json" }
func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

type gobCodec struct{}

func (gobCodec) Name() string { return "gob" }
func (gobCodec) Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}
func (gobCodec) Unmarshal(data []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}

// encodeValue returns the stored form of v. An error wraps
// ErrUnencodable: a value the codec refuses, or one the built-in codecs
// would recurse through without end (see checkEncodable). A codec that
// panics yields an error too.
func encodeValue(c Codec, v any) (out []byte, err error) {
	if n, ok := integerText(v); ok {
		return n, nil
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: %s cannot encode %T: %v", ErrUnencodable, c.Name(), v, r)
		}
	}()
	tag := codecTag(c)
	if tag != tagOther {
		if err := checkEncodable(tag, v); err != nil {
			return nil, fmt.Errorf("%w: %s cannot encode %T: %w", ErrUnencodable, c.Name(), v, err)
		}
	}
	body, err := c.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot encode %T: %w", ErrUnencodable, c.Name(), v, err)
	}
	out = make([]byte, 1+len(body))
	out[0] = tag
	copy(out[1:], body)
	return out, nil
}

func integerText(v any) ([]byte, bool) { return appendInteger(nil, v) }

// errCorrupt reports stored bytes that cannot be decoded: the entry is
// deleted. Intact bytes that do not fit the type asked for are a
// *TypeError instead, and stay.
type errCorrupt struct{ reason string }

func (e errCorrupt) Error() string { return "keyedcache: cannot decode cached value: " + e.reason }

// decodeValue decodes a stored form into the value dst points to. It
// never panics: a codec that panics on bad bytes yields an error. Bytes
// the codec can read, but not into dst, are a *TypeError; bytes it
// cannot read at all are errCorrupt.
func decodeValue(c Codec, data []byte, dst any) (err error) {
	if len(data) == 0 {
		return errCorrupt{"empty"}
	}
	if d := data[0]; d == '-' || '0' <= d && d <= '9' {
		return decodeInteger(data, dst)
	}
	if data[0] != codecTag(c) {
		return errCorrupt{fmt.Sprintf("stored with codec tag %#x, this cache uses %s", data[0], c.Name())}
	}
	defer func() {
		if r := recover(); r != nil {
			err = errCorrupt{fmt.Sprint("codec panicked: ", r)}
		}
	}()
	body := data[1:]
	if err := c.Unmarshal(body, dst); err != nil {
		if stored, intact := describeStored(c, body, err); intact {
			return &TypeError{Stored: stored, Wanted: wantedType(dst), Err: err}
		}
		return errCorrupt{err.Error()}
	}
	return nil
}

// describeStored tells whether body, which c failed to decode with err,
// is nonetheless intact (the failure is the destination's type), and
// what it holds. A codec of the user's cannot be asked: its failures
// count as corrupt bytes.
func describeStored(c Codec, body []byte, err error) (stored string, intact bool) {
	switch c.(type) {
	case cborCodec:
		if len(body) == 0 || cborDec.Wellformed(body) != nil {
			return "", false
		}
		return cborKind(body[0]), true
	case jsonCodec:
		if !json.Valid(body) {
			return "", false
		}
		return jsonKind(body), true
	case gobCodec:
		// A gob stream names its types; the decoder's complaint says
		// when they do not match the destination.
		msg := err.Error()
		for _, s := range []string{"type mismatch", "local type", "remote type", "wrong type received"} {
			if strings.Contains(msg, s) {
				if _, remote, ok := strings.Cut(msg, "remote type "); ok {
					return "a gob " + strings.TrimSpace(remote), true
				}
				return "a gob value of another type", true
			}
		}
	}
	return "", false
}

func cborKind(b byte) string {
	switch b >> 5 {
	case 0, 1:
		return "a CBOR integer"
	case 2:
		return "a CBOR byte string"
	case 3:
		return "a CBOR text string"
	case 4:
		return "a CBOR array"
	case 5:
		return "a CBOR map"
	case 6:
		return "a CBOR tagged value"
	}
	switch b & 0x1f {
	case 20, 21:
		return "a CBOR boolean"
	case 22, 23:
		return "CBOR null"
	case 25, 26, 27:
		return "a CBOR float"
	}
	return "a CBOR simple value"
}

func jsonKind(body []byte) string {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return "a JSON object"
		case '[':
			return "a JSON array"
		case '"':
			return "a JSON string"
		case 't', 'f':
			return "a JSON boolean"
		case 'n':
			return "JSON null"
		}
		return "a JSON number"
	}
	return "JSON"
}

// wantedType names the type dst points to.
func wantedType(dst any) string {
	t := reflect.TypeOf(dst)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.String()
}

func decodeInteger(data []byte, dst any) error {
	s := string(data)
	if p, ok := dst.(*int64); ok { // the common counter case, no reflection
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return integerError(s, dst)
		}
		*p = n
		return nil
	}
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("keyedcache: decode destination must be a non-nil pointer, not %T", dst)
	}
	e := rv.Elem()
	switch e.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, e.Type().Bits())
		if err != nil {
			return integerError(s, dst)
		}
		e.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(s, 10, e.Type().Bits())
		if err != nil {
			return integerError(s, dst)
		}
		e.SetUint(n)
	case reflect.Float32, reflect.Float64:
		if !isDecimal(s) {
			return errCorrupt{"not an integer"}
		}
		n, err := strconv.ParseFloat(s, e.Type().Bits())
		if err != nil {
			return integerError(s, dst)
		}
		e.SetFloat(n)
	case reflect.Interface:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(s, 10, 64)
			if uerr != nil {
				return integerError(s, dst)
			}
			if !reflect.TypeFor[uint64]().AssignableTo(e.Type()) {
				return integerError(s, dst)
			}
			e.Set(reflect.ValueOf(u))
			return nil
		}
		if !reflect.TypeFor[int64]().AssignableTo(e.Type()) {
			return integerError(s, dst)
		}
		e.Set(reflect.ValueOf(n))
	default:
		return integerError(s, dst)
	}
	return nil
}

// integerError is the error of reading the stored integer text s into
// dst: a *TypeError when s is a decimal integer (too large for dst, or
// dst no number), errCorrupt when it is not one at all.
func integerError(s string, dst any) error {
	if !isDecimal(s) {
		return errCorrupt{"not an integer"}
	}
	return &TypeError{Stored: "the integer " + clipText(s, 24), Wanted: wantedType(dst)}
}

// isDecimal reports whether s is a decimal integer as encodeValue
// writes one: an optional '-' and digits.
func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
