package web

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// shown is text laid out as it is: what plain makes of a value JSON
// would show in a form meant for programs, such as a duration in
// nanoseconds.
type shown string

// plain turns a Go value into what its JSON encoding decodes to — maps,
// lists, strings, json.Number, bools, nil — except that a time.Duration
// becomes a duration for people ("100.622ms"), where JSON has a count of
// nanoseconds. The figures other packages register (a cached function's
// compute_time) are Go values; the JSON endpoints keep the nanoseconds.
//
// It follows encoding/json's rules for struct fields (tags, omitempty,
// omitzero, "-", embedded structs); a type with a JSON or text encoding
// of its own is encoded by encoding/json.
func plain(v any) any { return plainValue(reflect.ValueOf(v), 0) }

var (
	durationType      = reflect.TypeFor[time.Duration]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// maxPlainDepth bounds the walk; deeper values go to encoding/json
// whole (which then stops at a cycle with an error).
const maxPlainDepth = 2 * maxTreeDepth

func plainValue(v reflect.Value, depth int) any {
	if !v.IsValid() {
		return nil
	}
	t := v.Type()
	if t == durationType {
		return shown(formatDuration(time.Duration(v.Int())))
	}
	if depth > maxPlainDepth || encodesItself(v) {
		return viaJSON(v)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plainValue(v.Elem(), depth+1)
	case reflect.Struct:
		m := map[string]any{}
		plainFields(v, m, depth)
		return m
	case reflect.Map:
		if v.IsNil() || t.Key().Kind() != reflect.String {
			return viaJSON(v) // JSON's rules for other keys
		}
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			m[it.Key().String()] = plainValue(it.Value(), depth+1)
		}
		return m
	case reflect.Slice, reflect.Array:
		if (v.Kind() == reflect.Slice && v.IsNil()) || t.Elem().Kind() == reflect.Uint8 {
			return viaJSON(v) // null, or base64
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plainValue(v.Index(i), depth+1)
		}
		return out
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return json.Number(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		var f any = v.Float()
		if v.Kind() == reflect.Float32 {
			f = float32(v.Float())
		}
		data, err := json.Marshal(f)
		if err != nil {
			return shown("(cannot show: " + err.Error() + ")")
		}
		return json.Number(data)
	}
	return viaJSON(v)
}

// encodesItself reports whether encoding/json would call a method of v's
// to encode it.
func encodesItself(v reflect.Value) bool {
	for _, m := range []reflect.Type{jsonMarshalerType, textMarshalerType} {
		if v.Type().Implements(m) || (v.CanAddr() && reflect.PointerTo(v.Type()).Implements(m)) {
			return true
		}
	}
	return false
}

// plainFields adds the fields of a struct as encoding/json names them;
// the fields of an embedded struct first, so that the outer ones win.
func plainFields(v reflect.Value, m map[string]any, depth int) {
	t := v.Type()
	var own []int
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			fv := v.Field(i)
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct {
				plainFields(fv, m, depth)
				continue
			}
		}
		if f.IsExported() {
			own = append(own, i)
		}
	}
	for _, i := range own {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		fv := v.Field(i)
		if (hasOption(opts, "omitempty") && isEmpty(fv)) || (hasOption(opts, "omitzero") && fv.IsZero()) {
			continue
		}
		m[name] = plainValue(fv, depth+1)
	}
}

func hasOption(opts, name string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == name {
			return true
		}
	}
	return false
}

// isEmpty is encoding/json's test for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// viaJSON decodes what encoding/json makes of v.
func viaJSON(v reflect.Value) any {
	if !v.CanInterface() { // reached through an unexported embedded struct
		return shown("(cannot show)")
	}
	if v.CanAddr() {
		v = v.Addr() // so that methods on the pointer are found, as encoding/json finds them
	}
	data, err := json.Marshal(v.Interface())
	if err != nil {
		return shown("(cannot show: " + err.Error() + ")")
	}
	var x any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return shown("(cannot show: " + err.Error() + ")")
	}
	return x
}

// formatDuration shows a duration to about four significant figures:
// 100.622ms, 1.252µs, 5.123s, 2h3m4.5s.
func formatDuration(d time.Duration) string {
	a := d.Abs()
	switch {
	case a >= time.Second:
		return d.Round(time.Millisecond).String()
	case a >= time.Millisecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}
