package keyedcache_test

import (
	"context"
	"sync"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
)

// nested has every kind of reference a decoded value can hold.
type nested struct {
	Name   string
	Tags   []string
	Counts []int
	Attrs  map[string][]string
	Parent *nested
	Any    any
	Grid   [2][]int
	Kids   []nested
	Ptrs   []*nested
}

func sampleNested() nested {
	return nested{
		Name:   "root",
		Tags:   []string{"a", "b"},
		Counts: []int{1, 2, 3},
		Attrs:  map[string][]string{"k": {"v1", "v2"}},
		Parent: &nested{Name: "parent", Tags: []string{"p"}},
		Any:    map[string]any{"x": []any{"y"}},
		Grid:   [2][]int{{1}, {2}},
		Kids:   []nested{{Name: "kid", Counts: []int{7}}},
		Ptrs:   []*nested{{Name: "ptr", Tags: []string{"q"}}},
	}
}

// mutate changes everything v refers to, in place where it can.
func mutate(v *nested) {
	v.Name = "changed"
	v.Tags[0] = "changed"
	v.Tags = append(v.Tags[:0], "appended")
	v.Counts[0] = 99
	v.Attrs["k"][0] = "changed"
	v.Attrs["new"] = nil
	v.Parent.Name = "changed"
	v.Parent.Tags[0] = "changed"
	v.Any.(map[string]any)["x"].([]any)[0] = "changed"
	v.Grid[0][0] = 99
	v.Kids[0].Counts[0] = 99
	v.Ptrs[0].Name = "changed"
	v.Ptrs[0].Tags[0] = "changed"
}

// In copy mode, a value read back is the reader's own: changing it, or
// anything it refers to, changes neither the cache nor what any other
// reader gets — with the value kept decoded beside its bytes as without.
func TestCopyModeReadsShareNothing(t *testing.T) {
	ctx := context.Background()
	c, err := keyedcache.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := sampleNested()
	if err := c.Set(ctx, "n", sampleNested()); err != nil {
		t.Fatal(err)
	}
	// What the codec gives for the value read into an interface.
	var wantAny any
	if err := c.Get(ctx, &wantAny, "n"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // the first read decodes and keeps, the others copy
		got, err := keyedcache.Get[nested](ctx, c, "n")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("read %d after changing the reads before (-want +got):\n%s", i, diff)
		}
		mutate(&got)
		asAny, err := keyedcache.Get[any](ctx, c, "n")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantAny, asAny); diff != "" {
			t.Fatalf("read %d into any (-want +got):\n%s", i, diff)
		}
		asAny.(map[string]any)["Name"] = "changed"
	}

	// Readers that change what they read, all at once: the race
	// detector reports any memory two of them share.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				got, err := keyedcache.Get[nested](ctx, c, "n")
				if err != nil {
					t.Error(err)
					return
				}
				if got.Name != "root" || got.Tags[0] != "a" || got.Parent.Tags[0] != "p" {
					t.Errorf("a concurrent read got a changed value: %+v", got)
					return
				}
				mutate(&got)
			}
		})
	}
	wg.Wait()
}

// A value is decoded once per write: later reads copy the kept value,
// and a write brings the new value, decoded once again.
func TestCopyModeDecodesOncePerWrite(t *testing.T) {
	ctx := context.Background()
	c, err := keyedcache.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type withRefs struct {
		C    counted
		Tags []string
	}
	c.Set(ctx, "k", withRefs{counted{1}, []string{"a"}})
	decodes.Store(0)
	for range 10 {
		v, err := keyedcache.Get[withRefs](ctx, c, "k")
		if err != nil || v.C.N != 1 || v.Tags[0] != "a" {
			t.Fatalf("Get = %+v, %v", v, err)
		}
		v.Tags[0] = "changed"
	}
	if n := decodes.Load(); n != 1 {
		t.Errorf("10 reads of one write decoded it %d times, want 1", n)
	}
	c.Set(ctx, "k", withRefs{counted{2}, []string{"b"}})
	for range 10 {
		v, err := keyedcache.Get[withRefs](ctx, c, "k")
		if err != nil || v.C.N != 2 || v.Tags[0] != "b" {
			t.Fatalf("Get after a new write = %+v, %v", v, err)
		}
	}
	if n := decodes.Load(); n != 2 {
		t.Errorf("reads of two writes decoded %d times, want 2", n)
	}
	// A type that does not fit the bytes is a miss and keeps nothing.
	if _, err := keyedcache.Get[int](ctx, c, "k"); err == nil {
		t.Errorf("Get[int] of a struct succeeded")
	}
	if v, err := keyedcache.Get[withRefs](ctx, c, "k"); err != nil || v.C.N != 2 {
		t.Errorf("Get after a misfit read = %+v, %v", v, err)
	}
	// Under a byte bound nothing is kept: every read decodes.
	b, err := keyedcache.Open("memory://?max_bytes=1MiB")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Set(ctx, "k", withRefs{counted{3}, nil})
	decodes.Store(0)
	for range 3 {
		if v, err := keyedcache.Get[withRefs](ctx, b, "k"); err != nil || v.C.N != 3 {
			t.Fatalf("Get = %+v, %v", v, err)
		}
	}
	if n := decodes.Load(); n != 3 {
		t.Errorf("3 reads under max_bytes decoded %d times, want 3", n)
	}
}

// ring decodes itself into a cycle of nodes: not a tree, so no cloner
// may walk it.
type ring struct{ head *ringNode }

type ringNode struct {
	N    int
	next *ringNode
}

func (r ring) MarshalCBOR() ([]byte, error) {
	var ns []int
	for n := r.head; n != nil; n = n.next {
		ns = append(ns, n.N)
		if n.next == r.head {
			break
		}
	}
	return cbor.Marshal(ns)
}

func (r *ring) UnmarshalCBOR(b []byte) error {
	var ns []int
	if err := cbor.Unmarshal(b, &ns); err != nil {
		return err
	}
	var last *ringNode
	for _, n := range ns {
		node := &ringNode{N: n}
		if last == nil {
			r.head = node
		} else {
			last.next = node
		}
		last = node
	}
	if last != nil {
		last.next = r.head
	}
	return nil
}

// A value whose type decodes itself may be anything, cycles included: in
// copy mode it is decoded on every read, never walked by a cloner, and
// each reader still gets its own.
func TestCopyModeSelfDecodingType(t *testing.T) {
	ctx := context.Background()
	c, err := keyedcache.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type holder struct {
		R    ring
		Tags []string
	}
	head := &ringNode{N: 1, next: &ringNode{N: 2}}
	head.next.next = head
	if err := c.Set(ctx, "ring", holder{ring{head}, []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		v, err := keyedcache.Get[holder](ctx, c, "ring")
		if err != nil {
			t.Fatal(err)
		}
		if v.R.head.N != 1 || v.R.head.next.N != 2 || v.R.head.next.next != v.R.head || v.Tags[0] != "a" {
			t.Fatalf("read back %+v", v)
		}
		v.R.head.N, v.Tags[0] = 99, "changed" // must not reach the next reader
	}
}
