package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

type product struct{ Name string }

func TestObjectStore(t *testing.T) {
	ctx := context.Background()
	if newStore(t, memory.Options{}).ByReference() {
		t.Errorf("ByReference is on by default")
	}
	s := newStore(t, memory.Options{ByReference: true})
	if !s.ByReference() {
		t.Errorf("ByReference is off with Options.ByReference")
	}

	p := &product{Name: "shoe"}
	s.SetObject("p::1", p, backend.NoExpiry)
	obj, raw, ok := s.GetObject("p::1")
	if obj != any(p) || raw != nil || !ok {
		t.Errorf("GetObject = %v, %v, %v; want the stored pointer, nil, true", obj, raw, ok)
	}
	p.Name = "boot"
	obj, _, _ = s.GetObject("p::1")
	if diff := cmp.Diff(&product{Name: "boot"}, obj); diff != "" {
		t.Errorf("a change to the stored value is not visible (-want +got):\n%s", diff)
	}

	// An object has no bytes: Get misses, Incr and CompareAndSwap refuse.
	if diff := cmp.Diff(found{}, lookup(t, s, "p::1")); diff != "" {
		t.Errorf("Get of an object entry (-want +got):\n%s", diff)
	}
	if added, _ := s.Add(ctx, "p::1", []byte("x"), backend.NoExpiry); added {
		t.Errorf("Add replaced an object entry")
	}
	s.SetObject("n", 5, backend.NoExpiry)
	if _, err := s.Incr(ctx, "n", 1); !errors.Is(err, backend.ErrNotNumeric) {
		t.Errorf("Incr of an object: err = %v, want ErrNotNumeric", err)
	}
	if ok, _ := s.CompareAndSwap(ctx, "n", nil, []byte("1"), backend.NoExpiry); ok {
		t.Errorf("CompareAndSwap matched an object entry")
	}

	// Bytes stored by Set come back raw.
	set(t, s, "b", "bytes", backend.NoExpiry)
	obj, raw, ok = s.GetObject("b")
	if diff := cmp.Diff([]any{nil, []byte("bytes"), true}, []any{obj, raw, ok}); diff != "" {
		t.Errorf("GetObject of a Set entry (-want +got):\n%s", diff)
	}

	// raw == nil is how the core tells an object from bytes, so even an
	// empty value comes back as a non-nil slice.
	set(t, s, "e", "", backend.NoExpiry)
	if obj, raw, ok := s.GetObject("e"); obj != nil || raw == nil || !ok {
		t.Errorf("GetObject of an empty Set value = %v, %#v, %v; want nil, []byte{}, true", obj, raw, ok)
	}

	// Objects are keys like any other: listed, prefix-deleted, expired.
	if n, _ := s.DeletePrefix(ctx, "p::"); n != 1 {
		t.Errorf("DeletePrefix(p::) removed %d object entries, want 1", n)
	}
	if _, _, ok := s.GetObject("p::1"); ok {
		t.Errorf("GetObject found a prefix-deleted object")
	}
	s.SetObject("gone", 1, -1)
	if _, _, ok := s.GetObject("gone"); ok {
		t.Errorf("SetObject with a negative ttl stored the object")
	}
	if _, _, ok := s.GetObject("missing"); ok {
		t.Errorf("GetObject found a missing key")
	}
}
