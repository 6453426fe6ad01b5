package keyedcache

import (
	"encoding"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/fxamacker/cbor/v2"
)

// The built-in codecs recurse through a value as they write it. A value
// that refers to itself (n.Next = &n) would make them recurse until the
// stack overflows, a fatal error that no recover catches; a value that
// shares one subvalue many times over (a pointer in both fields of
// every node of a chain) is written out once per path to it, which can
// take more memory than the machine has. checkEncodable looks at the
// value first and refuses both in time proportional to the value.
//
// It follows what the codec follows: exported and embedded fields but
// those the codec's tags skip ("-"), elements, map keys and values,
// pointers and interfaces; it stops at a type the codec hands to the
// type's own marshaler, and at types that cannot reach themselves or an
// interface (the common case, decided once per type): their values
// cannot refer to themselves.
const (
	// maxNesting is the deepest a value may nest (containers and
	// pointers); the CBOR decoder is configured to read as deep.
	maxNesting = 1000
	// maxExpanded bounds the nodes of a value's tree with every shared
	// subvalue counted once per path to it: what the codec would write.
	maxExpanded = 1 << 22
)

// maxPathSteps is how many steps of the way to the culprit an error
// shows.
const maxPathSteps = 12

// errNotEncodable is the cause checkEncodable reports.
type errNotEncodable struct {
	what string
	path []string // innermost step first
}

func (e *errNotEncodable) Error() string {
	if len(e.path) == 0 {
		return e.what
	}
	var b strings.Builder
	for i := len(e.path) - 1; i >= 0; i-- {
		if i < len(e.path)-maxPathSteps {
			b.WriteString("…")
			break
		}
		b.WriteString(e.path[i])
	}
	return e.what + " (at " + b.String() + ")"
}

// checkEncodable returns an error if the codec with tag would recurse
// without end through v or write more than maxExpanded nodes of it.
func checkEncodable(tag byte, v any) error {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	if !mayNest(tag, rv.Type()) {
		return nil
	}
	w := encWalk{tag: tag}
	_, _, err := w.walk(rv, 0, nil)
	return err
}

// nodeID names a value that can be reached along more than one path: a
// pointer's target, a map, a slice's elements.
type nodeID struct {
	p unsafe.Pointer
	t reflect.Type
	n int
}

type nodeSize struct{ nodes, height int64 }

// memoAfter is how many values a walk looks at before it remembers the
// size of each shared value it finished, so that a value reached again
// costs nothing more to look at; small values never pay for the map.
const memoAfter = 1024

type encWalk struct {
	tag      byte
	finished map[nodeID]nodeSize
	expanded int64
}

// pathLink is one of the pointers, maps and slices being looked at, with
// the one it is inside; the chain lives on the stack of walk.
type pathLink struct {
	id nodeID
	up *pathLink
}

var (
	errSelf = "it refers to itself"
	errDeep = "it nests deeper than " + strconv.Itoa(maxNesting) + " levels"
	errWide = "it holds more than " + strconv.Itoa(maxExpanded) + " values once shared parts are counted once per path to them"
)

// step adds a step of the way to the culprit to err.
func step(err error, s string) error {
	if ne, ok := err.(*errNotEncodable); ok && s != "" {
		ne.path = append(ne.path, s)
	}
	return err
}

// walk returns the expanded node count and the height of v, inside the
// values on path.
func (w *encWalk) walk(v reflect.Value, depth int, path *pathLink) (nodes, height int64, err error) {
	if w.expanded++; w.expanded > maxExpanded {
		return 0, 0, &errNotEncodable{what: errWide}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Array, reflect.Struct, reflect.Interface:
	default:
		return 1, 0, nil
	}
	if depth > maxNesting {
		return 0, 0, &errNotEncodable{what: errDeep}
	}
	t := v.Type()
	if !mayNest(w.tag, t) {
		return 1, 0, nil
	}
	var id nodeID
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return 1, 0, nil
		}
		return w.walk(v.Elem(), depth, path)
	case reflect.Pointer:
		if v.IsNil() {
			return 1, 0, nil
		}
		id = nodeID{p: v.UnsafePointer(), t: t}
	case reflect.Map:
		if v.IsNil() || v.Len() == 0 {
			return 1, 0, nil
		}
		id = nodeID{p: v.UnsafePointer(), t: t}
	case reflect.Slice:
		if v.Len() == 0 {
			return 1, 0, nil
		}
		id = nodeID{p: v.UnsafePointer(), t: t, n: v.Len()}
	}
	if id.p != nil {
		for on := path; on != nil; on = on.up {
			if on.id == id {
				return 0, 0, &errNotEncodable{what: errSelf}
			}
		}
		if done, ok := w.finished[id]; ok {
			if int64(depth)+done.height > maxNesting {
				return 0, 0, &errNotEncodable{what: errDeep}
			}
			if w.expanded += done.nodes; w.expanded > maxExpanded {
				return 0, 0, &errNotEncodable{what: errWide}
			}
			return done.nodes, done.height, nil
		}
	}
	here := pathLink{id: id, up: path}
	within := path
	if id.p != nil {
		within = &here
	}
	inner := depth + 1 // a pointer is no level of its own: the codecs write what it points to
	if v.Kind() == reflect.Pointer {
		inner = depth
	}
	nodes = 1
	add := func(n, h int64) {
		nodes += n
		height = max(height, h+int64(inner-depth))
	}
	switch v.Kind() {
	case reflect.Pointer:
		n, h, err := w.walk(v.Elem(), inner, within)
		if err != nil {
			return 0, 0, err
		}
		add(n, h)
	case reflect.Slice, reflect.Array:
		if a, ok := asAnySlice(v); ok {
			for i, x := range a {
				n, h, err := w.walk(reflect.ValueOf(x), inner, within)
				if err != nil {
					return 0, 0, step(err, "["+strconv.Itoa(i)+"]")
				}
				add(n, h)
			}
		} else if mayNest(w.tag, t.Elem()) {
			for i := range v.Len() {
				n, h, err := w.walk(v.Index(i), inner, within)
				if err != nil {
					return 0, 0, step(err, "["+strconv.Itoa(i)+"]")
				}
				add(n, h)
			}
		} else {
			add(int64(v.Len()), 0)
		}
	case reflect.Map:
		if m, ok := asAnyMap(v); ok { // the common case, without reflection per entry
			for k, x := range m {
				n, h, err := w.walk(reflect.ValueOf(x), inner, within)
				if err != nil {
					return 0, 0, step(err, "["+clipText(k, 40)+"]")
				}
				add(n+1, h)
			}
			break
		}
		kt, vt := mayNest(w.tag, t.Key()), mayNest(w.tag, t.Elem())
		if !kt && !vt {
			add(int64(2*v.Len()), 0)
			break
		}
		// One key and one value, reused for every entry: no allocation
		// per entry (reflect allows it only for an exported map).
		var iter reflect.MapIter
		iter.Reset(v)
		key, val := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		reuse := v.CanInterface()
		for iter.Next() {
			if reuse {
				key.SetIterKey(&iter)
				val.SetIterValue(&iter)
			} else {
				key, val = iter.Key(), iter.Value()
			}
			for _, c := range [2]reflect.Value{key, val} {
				n, h, err := w.walk(c, inner, within)
				if err != nil {
					return 0, 0, step(err, "["+clipText(fmt.Sprint(key), 40)+"]")
				}
				add(n, h)
			}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !fieldEncoded(w.tag, f) || !mayNest(w.tag, f.Type) {
				continue
			}
			n, h, err := w.walk(v.Field(i), inner, within)
			if err != nil {
				return 0, 0, step(err, "."+f.Name)
			}
			add(n, h)
		}
	}
	if id.p != nil {
		if w.finished == nil && w.expanded > memoAfter {
			w.finished = map[nodeID]nodeSize{}
		}
		if w.finished != nil {
			w.finished[id] = nodeSize{nodes, height}
		}
	}
	return nodes, height, nil
}

var (
	anyMapType   = reflect.TypeFor[map[string]any]()
	anySliceType = reflect.TypeFor[[]any]()
)

// asAnyMap returns v as a map[string]any, if it is one (of exactly that
// type) that can be read without reflection.
func asAnyMap(v reflect.Value) (map[string]any, bool) {
	if v.Type() != anyMapType || !v.CanInterface() {
		return nil, false
	}
	return v.Interface().(map[string]any), true
}

// asAnySlice is asAnyMap for []any.
func asAnySlice(v reflect.Value) ([]any, bool) {
	if v.Type() != anySliceType || !v.CanInterface() {
		return nil, false
	}
	return v.Interface().([]any), true
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// fieldEncoded reports whether the codec with tag writes struct field f.
func fieldEncoded(tag byte, f reflect.StructField) bool {
	if !f.IsExported() {
		// Only an embedded struct's exported fields are written.
		t := f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if !f.Anonymous || t.Kind() != reflect.Struct {
			return false
		}
	}
	switch tag {
	case tagCBOR:
		if name, ok := f.Tag.Lookup("cbor"); ok {
			return name != "-"
		}
		return f.Tag.Get("json") != "-"
	case tagJSON:
		return f.Tag.Get("json") != "-"
	}
	return f.Type.Kind() != reflect.Chan && f.Type.Kind() != reflect.Func
}

var (
	cborMarshalerType   = reflect.TypeFor[cbor.Marshaler]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	gobEncoderType      = reflect.TypeFor[gob.GobEncoder]()
	bigIntType          = reflect.TypeFor[big.Int]()
)

// ownMarshaler reports whether the codec with tag writes a value of type
// t through a method of t (or of *t) instead of looking inside it.
func ownMarshaler(tag byte, t reflect.Type) bool {
	if t == reflect.TypeFor[time.Time]() || t == bigIntType {
		return true
	}
	implements := func(it reflect.Type) bool {
		return t.Implements(it) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(it)
	}
	switch tag {
	case tagCBOR:
		return implements(cborMarshalerType) || implements(binaryMarshalerType)
	case tagJSON:
		return implements(jsonMarshalerType) || implements(textMarshalerType)
	case tagGob:
		return implements(gobEncoderType) || implements(binaryMarshalerType) || implements(textMarshalerType)
	}
	return false
}

type nestKey struct {
	tag byte
	t   reflect.Type
}

var nestTypes sync.Map // nestKey → bool

// mayNest reports whether a value of type t can refer to itself or to
// an interface value (which can hold anything) as the codec with tag
// walks it: only then does a value of t need looking at.
func mayNest(tag byte, t reflect.Type) bool {
	k := nestKey{tag, t}
	if v, ok := nestTypes.Load(k); ok {
		return v.(bool)
	}
	nest := mayNestType(tag, t, map[reflect.Type]bool{})
	nestTypes.Store(k, nest)
	return nest
}

func mayNestType(tag byte, t reflect.Type, seen map[reflect.Type]bool) bool {
	if ownMarshaler(tag, t) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map, reflect.Struct:
	default:
		return false
	}
	if seen[t] {
		return true // t reaches itself
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return mayNestType(tag, t.Elem(), seen)
	case reflect.Map:
		return mayNestType(tag, t.Key(), seen) || mayNestType(tag, t.Elem(), seen)
	}
	for i := range t.NumField() {
		if f := t.Field(i); fieldEncoded(tag, f) && mayNestType(tag, f.Type, seen) {
			return true
		}
	}
	return false
}
