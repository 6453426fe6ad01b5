package keyedcache

import (
	"bytes"
	"crypto/sha256"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// canonicalHash hashes a canonical encoding of v: the same value gives
// the same hash in every process and every run. Map entries are sorted,
// struct fields are taken in order with their names, pointers are
// followed, and the type's name is included so that equal fields of
// different types differ. Functions and channels contribute their type
// only: they have no value that survives a process.
func canonicalHash(v reflect.Value) [sha256.Size]byte {
	var buf bytes.Buffer
	writeCanonical(&buf, v, 0)
	return sha256.Sum256(buf.Bytes())
}

func writeCanonical(w *bytes.Buffer, v reflect.Value, depth int) {
	if !v.IsValid() {
		w.WriteString("nil;")
		return
	}
	if depth > maxDepth {
		w.WriteString("deep;")
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
		w.WriteString("[" + strconv.Itoa(v.Len()) + "]")
		for i := 0; i < v.Len(); i++ {
			writeCanonical(w, v.Index(i), depth+1)
		}
	case reflect.Map:
		if v.IsNil() {
			w.WriteString("nil;")
			return
		}
		type entry struct{ k, v []byte }
		entries := make([]entry, 0, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			var kb, vb bytes.Buffer
			writeCanonical(&kb, iter.Key(), depth+1)
			writeCanonical(&vb, iter.Value(), depth+1)
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
		for i := 0; i < v.NumField(); i++ {
			writeLenPrefixed(w, t.Field(i).Name)
			writeCanonical(w, v.Field(i), depth+1)
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			w.WriteString("nil;")
			return
		}
		writeCanonical(w, v.Elem(), depth+1)
	default: // func, chan, unsafe pointer: the type only
		w.WriteString(t.String())
	}
	w.WriteByte(';')
}

func writeLenPrefixed(w *bytes.Buffer, s string) {
	w.WriteString(strconv.Itoa(len(s)))
	w.WriteByte(':')
	w.WriteString(s)
}
