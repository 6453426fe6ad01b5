package keyedcache

import (
	"reflect"
	"sync"
	"unsafe"
)

// A cloner hands out copies of a decoded value that share nothing a
// reader can change with it or with each other: a plain copy for a type
// without references (see copySafe), and otherwise a copy in which every
// slice, map, pointer and interface holding something changeable is
// copied too, recursively. Strings, channels and functions are shared:
// nobody can change them. Decoded values are trees (the codec never
// makes two references to one thing), so a cloner does not look for
// cycles.
//
// A cloner is built once per type, by reflection, into a tree of
// fixers; cloning a value is then a copy of it and a run of its type's
// fixers over the copy.

// clonable reports whether values of t may be kept decoded and handed
// out through a cloner: no part of t that holds references decodes
// itself.
func clonable(t reflect.Type) bool {
	if v, ok := clonableTypes.Load(t); ok {
		return v.(bool)
	}
	ok := clonableUncached(t, map[reflect.Type]bool{})
	clonableTypes.Store(t, ok)
	return ok
}

var clonableTypes sync.Map // reflect.Type → bool

// selfDecoders are the methods through which a type decodes itself.
var selfDecoders = []string{"UnmarshalCBOR", "UnmarshalJSON", "UnmarshalBinary", "UnmarshalText", "GobDecode"}

func clonableUncached(t reflect.Type, seen map[reflect.Type]bool) bool {
	if copySafe(t) || seen[t] {
		return true
	}
	seen[t] = true
	pt := reflect.PointerTo(t)
	for _, m := range selfDecoders {
		if _, ok := pt.MethodByName(m); ok {
			return false
		}
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return clonableUncached(t.Elem(), seen)
	case reflect.Map:
		return clonableUncached(t.Key(), seen) && clonableUncached(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if !clonableUncached(t.Field(i).Type, seen) {
				return false
			}
		}
	case reflect.Interface:
		// The codec fills an interface with values of its own making
		// (maps, slices, numbers, strings, byte strings): trees.
	}
	return true
}

// clonerOf returns the cloner of T, or nil when T is not clonable.
func clonerOf[T any]() func(T) T {
	t := reflect.TypeFor[T]()
	if f, ok := cloners.Load(t); ok {
		return f.(func(T) T)
	}
	var f func(T) T
	if !clonable(t) {
		// f stays nil
	} else if fix := fixerOf(t); fix == nil {
		f = func(v T) T { return v }
	} else {
		f = func(v T) T {
			fix(unsafe.Pointer(&v))
			return v
		}
	}
	cloners.Store(t, f)
	return f
}

var (
	cloners sync.Map // reflect.Type → func(T) T
	fixers  sync.Map // reflect.Type → fixer (nil: nothing to fix)
)

// A fixer replaces, in the value at p (a copy of a decoded value), every
// reference that a reader could change through with a reference to a
// copy of its own.
type fixer func(p unsafe.Pointer)

// fixerOf returns the fixer of t, nil when a plain copy of a t shares
// nothing changeable.
func fixerOf(t reflect.Type) fixer {
	if f, ok := fixers.Load(t); ok {
		return f.(fixer)
	}
	f := buildFixer(t, map[reflect.Type]*fixer{})
	fixers.Store(t, f)
	return f
}

// buildFixer builds the fixer of t; building holds the types being
// built, so that a recursive type refers to its own fixer.
func buildFixer(t reflect.Type, building map[reflect.Type]*fixer) fixer {
	if copySafe(t) {
		return nil
	}
	if slot, ok := building[t]; ok { // a recursive type: its fixer is not built yet
		return func(p unsafe.Pointer) { (*slot)(p) }
	}
	slot := new(fixer)
	building[t] = slot
	defer delete(building, t)
	var f fixer
	switch t.Kind() {
	case reflect.Pointer:
		f = pointerFixer(t, buildFixer(t.Elem(), building))
	case reflect.Slice:
		f = sliceFixer(t, buildFixer(t.Elem(), building))
	case reflect.Map:
		f = mapFixer(t, buildFixer(t.Elem(), building))
	case reflect.Interface:
		f = interfaceFixer(t)
	case reflect.Array:
		if ef := buildFixer(t.Elem(), building); ef != nil {
			n, size := t.Len(), t.Elem().Size()
			f = func(p unsafe.Pointer) {
				for i := range n {
					ef(unsafe.Add(p, uintptr(i)*size))
				}
			}
		}
	case reflect.Struct:
		type field struct {
			off uintptr
			fix fixer
		}
		var fs []field
		for i := range t.NumField() {
			sf := t.Field(i)
			if ff := buildFixer(sf.Type, building); ff != nil {
				fs = append(fs, field{sf.Offset, ff})
			}
		}
		switch len(fs) {
		case 0:
		case 1:
			off, ff := fs[0].off, fs[0].fix
			f = func(p unsafe.Pointer) { ff(unsafe.Add(p, off)) }
		default:
			f = func(p unsafe.Pointer) {
				for _, fl := range fs {
					fl.fix(unsafe.Add(p, fl.off))
				}
			}
		}
	}
	// Channels, functions and unsafe pointers are shared.
	*slot = f
	return f
}

// pointerFixer points the pointer at p to a copy of what it points to.
func pointerFixer(t reflect.Type, elemFix fixer) fixer {
	elem := t.Elem()
	return func(p unsafe.Pointer) {
		old := *(*unsafe.Pointer)(p)
		if old == nil {
			return
		}
		nv := reflect.New(elem)
		nv.Elem().Set(reflect.NewAt(elem, old).Elem())
		np := nv.UnsafePointer()
		if elemFix != nil {
			elemFix(np)
		}
		*(*unsafe.Pointer)(p) = np
	}
}

// sliceHeader is the layout of every slice.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// sliceFixer gives the slice at p an array of its own, of its length
// (so that an append by one reader never writes into another's).
func sliceFixer(t reflect.Type, elemFix fixer) fixer {
	elem := t.Elem()
	size := elem.Size()
	switch {
	case elemFix == nil && elem.Kind() == reflect.String:
		// Any string type has the layout of string.
		return func(p unsafe.Pointer) {
			s := (*[]string)(p)
			if *s != nil {
				*s = append(make([]string, 0, len(*s)), *s...)
			}
		}
	case elemFix == nil && pointerFree(elem):
		// The array holds no pointers: it may be any memory of its size
		// and alignment (at most 8).
		return func(p unsafe.Pointer) {
			h := (*sliceHeader)(p)
			if h.data == nil {
				return
			}
			words := make([]uint64, (uintptr(h.len)*size+7)/8)
			var data unsafe.Pointer
			if len(words) > 0 {
				data = unsafe.Pointer(&words[0])
				copy(unsafe.Slice((*byte)(data), uintptr(h.len)*size), unsafe.Slice((*byte)(h.data), uintptr(h.len)*size))
			} else {
				data = unsafe.Pointer(&words) // a zero-length array: any non-nil address
			}
			*h = sliceHeader{data: data, len: h.len, cap: h.len}
		}
	}
	return func(p unsafe.Pointer) {
		s := reflect.NewAt(t, p).Elem()
		if s.IsNil() {
			return
		}
		n := s.Len()
		ns := reflect.MakeSlice(t, n, n)
		reflect.Copy(ns, s)
		if elemFix != nil {
			base := ns.UnsafePointer()
			for i := range n {
				elemFix(unsafe.Add(base, uintptr(i)*size))
			}
		}
		s.Set(ns)
	}
}

// mapFixer gives the map at p a map of its own, its values copied.
// Keys are shared: a key cannot be changed through the map.
func mapFixer(t reflect.Type, valFix fixer) fixer {
	vt := t.Elem()
	return func(p unsafe.Pointer) {
		m := reflect.NewAt(t, p).Elem()
		if m.IsNil() {
			return
		}
		nm := reflect.MakeMapWithSize(t, m.Len())
		for it := m.MapRange(); it.Next(); {
			v := it.Value()
			if valFix != nil {
				c := reflect.New(vt).Elem()
				c.Set(v)
				valFix(c.Addr().UnsafePointer())
				v = c
			}
			nm.SetMapIndex(it.Key(), v)
		}
		m.Set(nm)
	}
}

// interfaceFixer gives the interface at p a copy of its dynamic value
// when that holds references.
func interfaceFixer(t reflect.Type) fixer {
	return func(p unsafe.Pointer) {
		iv := reflect.NewAt(t, p).Elem()
		if iv.IsNil() {
			return
		}
		d := iv.Elem()
		df := fixerOf(d.Type())
		if df == nil {
			return
		}
		c := reflect.New(d.Type()).Elem()
		c.Set(d)
		df(c.Addr().UnsafePointer())
		iv.Set(c)
	}
}

// pointerFree reports whether a value of type t holds no pointer at all.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
