package keyedcache

import (
	"bytes"
	"crypto/sha256"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// Limits of the canonical encoding of one key part, so that Key takes
// little time and memory whatever it is given. A part beyond them has no
// key: Key returns the unkeyable key for it (see unkeyableMarker).
const (
	// maxCanonicalDepth is the deepest a part may nest.
	maxCanonicalDepth = 512
	// maxCanonicalRepeat bounds the values written again because a
	// shared subvalue is reached along another path (a pointer in both
	// fields of every node of a chain doubles the work per node).
	maxCanonicalRepeat = 1 << 14
)

// canonicalHash hashes a canonical encoding of v: the same value gives
// the same hash in every process and every run. Map entries are sorted,
// struct fields are taken in order with their names, pointers are
// followed, and the type's name is included so that equal fields of
// different types differ. Functions and channels contribute their type
// only: they have no value that survives a process. A pointer, map or
// slice met again inside itself is written as a reference to it ("^"
// and how many such values up it is), so a value that refers to itself
// has a finite encoding. ok is false for a value beyond the limits above.
func canonicalHash(v reflect.Value) (sum [sha256.Size]byte, ok bool) {
	var buf bytes.Buffer
	cw := canonWriter{}
	cw.write(&buf, v, 0)
	if cw.failed {
		return sum, false
	}
	return sha256.Sum256(buf.Bytes()), true
}

type canonWriter struct {
	path   []nodeID       // the pointers, maps and slices being written, outermost first
	sizes  map[nodeID]int // values written beneath each one already written once
	nodes  int            // values written so far
	repeat int            // values written again, of shared subvalues
	failed bool
}

// enter reports how a pointer, map or slice is to be written: as a
// reference to the value on the path it repeats (back > 0), or entered
// (ok), or not at all (the limits are passed).
func (cw *canonWriter) enter(id nodeID) (back int, ok bool) {
	for i := len(cw.path) - 1; i >= 0; i-- {
		if cw.path[i] == id {
			return len(cw.path) - i, false
		}
	}
	if n, seen := cw.sizes[id]; seen {
		if cw.repeat += n; cw.repeat > maxCanonicalRepeat {
			cw.failed = true
			return 0, false
		}
	}
	cw.path = append(cw.path, id)
	return 0, true
}

// leave ends the value entered when cw.nodes was start.
func (cw *canonWriter) leave(id nodeID, start int) {
	cw.path = cw.path[:len(cw.path)-1]
	if _, seen := cw.sizes[id]; !seen {
		if cw.sizes == nil {
			cw.sizes = map[nodeID]int{}
		}
		cw.sizes[id] = cw.nodes - start
	}
}

func (cw *canonWriter) write(w *bytes.Buffer, v reflect.Value, depth int) {
	if cw.failed {
		return
	}
	cw.nodes++
	if !v.IsValid() {
		w.WriteString("nil;")
		return
	}
	if depth > maxCanonicalDepth {
		cw.failed = true
		return
	}
	t := v.Type()
	if t.Name() != "" {
		w.WriteString(t.PkgPath())
		w.WriteByte('.')
		w.WriteString(t.Name())
		w.WriteByte(':')
	}
	switch v.Kind() {
	case reflect.Bool:
		w.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if f == 0 {
			f = 0 // one zero
		}
		if math.IsNaN(f) {
			w.WriteString("NaN")
		} else {
			w.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		}
	case reflect.Complex64, reflect.Complex128:
		w.WriteString(strconv.FormatComplex(v.Complex(), 'g', -1, 128))
	case reflect.String:
		writeLenPrefixed(w, v.String())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			w.WriteString("nil;")
			return
		}
		if v.Kind() == reflect.Slice && v.Len() > 0 {
			id := nodeID{p: v.UnsafePointer(), t: t, n: v.Len()}
			if !cw.open(w, id) {
				return
			}
			defer cw.leave(id, cw.nodes)
		}
		w.WriteString("[" + strconv.Itoa(v.Len()) + "]")
		for i := 0; i < v.Len() && !cw.failed; i++ {
			cw.write(w, v.Index(i), depth+1)
		}
	case reflect.Map:
		if v.IsNil() {
			w.WriteString("nil;")
			return
		}
		id := nodeID{p: v.UnsafePointer(), t: t}
		if !cw.open(w, id) {
			return
		}
		defer cw.leave(id, cw.nodes)
		type entry struct{ k, v []byte }
		entries := make([]entry, 0, v.Len())
		iter := v.MapRange()
		for iter.Next() && !cw.failed {
			var kb, vb bytes.Buffer
			cw.write(&kb, iter.Key(), depth+1)
			cw.write(&vb, iter.Value(), depth+1)
			entries = append(entries, entry{kb.Bytes(), vb.Bytes()})
		}
		slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.k, b.k) })
		w.WriteString("{" + strconv.Itoa(len(entries)) + "}")
		for _, e := range entries {
			w.Write(e.k)
			w.Write(e.v)
		}
	case reflect.Struct:
		w.WriteString("{" + strconv.Itoa(v.NumField()) + "}")
		for i := 0; i < v.NumField() && !cw.failed; i++ {
			writeLenPrefixed(w, t.Field(i).Name)
			cw.write(w, v.Field(i), depth+1)
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			w.WriteString("nil;")
			return
		}
		if v.Kind() == reflect.Pointer {
			id := nodeID{p: v.UnsafePointer(), t: t}
			if !cw.open(w, id) {
				return
			}
			defer cw.leave(id, cw.nodes)
		}
		cw.write(w, v.Elem(), depth+1)
	default: // func, chan, unsafe pointer: the type only
		w.WriteString(t.String())
	}
	w.WriteByte(';')
}

// open enters the pointer, map or slice id and reports true, or writes a
// reference to it when it is already on the path (or nothing, past the
// limits) and reports false.
func (cw *canonWriter) open(w *bytes.Buffer, id nodeID) bool {
	back, ok := cw.enter(id)
	if !ok && back > 0 {
		w.WriteString("^" + strconv.Itoa(back) + ";")
	}
	return ok
}

func writeLenPrefixed(w *bytes.Buffer, s string) {
	w.WriteString(strconv.Itoa(len(s)))
	w.WriteByte(':')
	w.WriteString(s)
}
