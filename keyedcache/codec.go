package keyedcache

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

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
	cborDec, err = cbor.DecOptions{DefaultMapType: reflect.TypeFor[map[string]any](), UTF8: cbor.UTF8DecodeInvalid}.DecMode()
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

// encodeValue returns the stored form of v.
func encodeValue(c Codec, v any) ([]byte, error) {
	if n, ok := integerText(v); ok {
		return n, nil
	}
	body, err := c.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("keyedcache: %s cannot encode %T: %w", c.Name(), v, err)
	}
	out := make([]byte, 1+len(body))
	out[0] = codecTag(c)
	copy(out[1:], body)
	return out, nil
}

func integerText(v any) ([]byte, bool) { return appendInteger(nil, v) }

// errCorrupt reports stored bytes that cannot be decoded.
type errCorrupt struct{ reason string }

func (e errCorrupt) Error() string { return "keyedcache: cannot decode cached value: " + e.reason }

// decodeValue decodes a stored form into the value dst points to. It
// never panics: a codec that panics on bad bytes yields an error.
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
	if err := c.Unmarshal(data[1:], dst); err != nil {
		return errCorrupt{err.Error()}
	}
	return nil
}

func decodeInteger(data []byte, dst any) error {
	s := string(data)
	if p, ok := dst.(*int64); ok { // the common counter case, no reflection
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errCorrupt{"not an integer"}
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
			return errCorrupt{"integer " + s + " does not fit " + e.Type().String()}
		}
		e.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(s, 10, e.Type().Bits())
		if err != nil {
			return errCorrupt{"integer " + s + " does not fit " + e.Type().String()}
		}
		e.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return errCorrupt{"not a number"}
		}
		e.SetFloat(n)
	case reflect.Interface:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(s, 10, 64)
			if uerr != nil {
				return errCorrupt{"not an integer"}
			}
			e.Set(reflect.ValueOf(u))
			return nil
		}
		if !reflect.TypeFor[int64]().AssignableTo(e.Type()) {
			return errCorrupt{"an integer is not a " + e.Type().String()}
		}
		e.Set(reflect.ValueOf(n))
	default:
		return errCorrupt{"an integer is not a " + e.Type().String()}
	}
	return nil
}
