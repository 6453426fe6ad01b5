package keyedcache_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/keyedcache"
)

// Values that refer to themselves or share parts without end. Before the
// encoder and the key builder looked at them first, some killed the
// process (a stack overflow is fatal, beyond recover) or took all its
// memory; so the tests that use them run in a child process, and fail
// (rather than crash the test binary) if the child dies.

type selfNode struct {
	V    int
	Next *selfNode
}

type quad struct{ A, B, C, D *quad }

type twin struct {
	V    int
	A, B *twin
}

// selfLoop returns a node whose Next is itself.
func selfLoop(v int) *selfNode {
	n := &selfNode{V: v}
	n.Next = n
	return n
}

func selfQuad() *quad {
	q := &quad{}
	q.A, q.B, q.C, q.D = q, q, q, q
	return q
}

// twinChain returns n nodes, each pointing twice to the next: written
// out, the value has 2^n nodes.
func twinChain(n int) *twin {
	var next *twin
	for i := range n {
		next = &twin{V: i, A: next, B: next}
	}
	return next
}

// list returns a chain of n nodes, nested n deep.
func list(n int) *selfNode {
	var head *selfNode
	for i := range n {
		head = &selfNode{V: i, Next: head}
	}
	return head
}

func hostileValues() map[string]any {
	m := map[string]any{"x": 1}
	m["self"] = m
	s := []any{1, nil}
	s[1] = s
	var a any
	a = &a
	return map[string]any{
		"struct pointing to itself":           selfLoop(1),
		"struct with four pointers to itself": selfQuad(),
		"map holding itself":                  m,
		"slice holding itself":                s,
		"interface pointing to itself":        &a,
		"value shared 2^80 times over":        twinChain(80),
		"list nested 5000 deep":               list(5000),
	}
}

// TestHostileValuesInChild runs the writes of values that refer to
// themselves in a child process: each must return an error that says
// so, promptly, and store nothing.
func TestHostileValuesInChild(t *testing.T) {
	if role, ok := testproc.Role(); ok && role == "hostile" {
		hostileChild(t)
		return
	}
	p := testproc.Start(t, "hostile")
	select {
	case <-p.Done():
	case <-time.After(5 * time.Minute):
		p.Kill()
		t.Fatalf("the child is still running after 5 minutes:\n%s", p.Output())
	}
	p.Wait(t) // fails, with the child's output, if it crashed
}

func hostileChild(t *testing.T) {
	ctx := context.Background()
	for _, codec := range []string{"cbor", "json", "gob"} {
		c := open(t, "memory://?codec="+codec)
		for name, v := range hostileValues() {
			start := time.Now()
			err := c.Set(ctx, "v", v)
			t.Logf("%s: Set(%s) took %v: %v", codec, name, time.Since(start), err)
			if !errors.Is(err, keyedcache.ErrUnencodable) {
				t.Errorf("%s: Set(%s) = %v, want an error matching ErrUnencodable", codec, name, err)
			}
			if added, err := c.Add(ctx, "v", v); added || !errors.Is(err, keyedcache.ErrUnencodable) {
				t.Errorf("%s: Add(%s) = %v, %v; want false and ErrUnencodable", codec, name, added, err)
			}
			if err := c.SetMany(ctx, map[string]any{"v": v, "w": 1}); !errors.Is(err, keyedcache.ErrUnencodable) {
				t.Errorf("%s: SetMany(%s) = %v, want an error matching ErrUnencodable", codec, name, err)
			}
			if c.IsCached(ctx, "v") {
				t.Errorf("%s: %s was stored", codec, name)
			}
		}
		if err := c.Set(ctx, "v", selfLoop(1)); err == nil || !strings.Contains(err.Error(), "refers to itself (at .Next)") {
			t.Errorf("%s: the error %q does not say where the value refers to itself", codec, err)
		}
	}

	// Keys: a value that refers to itself has a key, found at once; one
	// that cannot be written out within the limits has none, and nothing
	// can be stored under the key Key gives it.
	c := open(t, "memory://?key_prefix=site")
	for name, p := range map[string]any{"self": selfLoop(1), "quad": selfQuad(), "self map": hostileValues()["map holding itself"]} {
		start := time.Now()
		k := c.Key("p", p)
		t.Logf("Key(%s) took %v: %s", name, time.Since(start), k)
		if !strings.HasPrefix(k, "site::p::%h") {
			t.Errorf("Key(%s) = %q, want a hash of the value", name, k)
		}
		if again := c.Key("p", p); again != k {
			t.Errorf("Key(%s) is not stable: %q, then %q", name, k, again)
		}
	}
	if c.Key("p", selfLoop(1)) == c.Key("p", selfLoop(2)) {
		t.Error("two loops holding different values share a key")
	}
	for name, p := range map[string]any{"shared 2^80": twinChain(80), "deep": list(5000)} {
		start := time.Now()
		k := c.Key("p", p)
		t.Logf("Key(%s) took %v: %s", name, time.Since(start), k)
		if k != "site::%unkeyable" {
			t.Errorf("Key(%s) = %q, want site::%%unkeyable", name, k)
		}
		if err := c.Set(ctx, k, 1); !errors.Is(err, keyedcache.ErrUnkeyable) {
			t.Errorf("Set under the key of %s = %v, want ErrUnkeyable", name, err)
		}
		if added, err := c.Add(ctx, k, 1); added || !errors.Is(err, keyedcache.ErrUnkeyable) {
			t.Errorf("Add under the key of %s = %v, %v; want false, ErrUnkeyable", name, added, err)
		}
		if err := c.SetBytes(ctx, k, []byte("1")); !errors.Is(err, keyedcache.ErrUnkeyable) {
			t.Errorf("SetBytes under the key of %s = %v, want ErrUnkeyable", name, err)
		}
		if err := c.SetMany(ctx, map[string]any{k: 1}); !errors.Is(err, keyedcache.ErrUnkeyable) {
			t.Errorf("SetMany under the key of %s = %v, want ErrUnkeyable", name, err)
		}
		if _, err := keyedcache.Get[int](ctx, c, "p", p); !errors.Is(err, keyedcache.ErrNotCached) || !errors.Is(err, keyedcache.ErrUnkeyable) {
			t.Errorf("Get of %s = %v, want a miss caused by ErrUnkeyable", name, err)
		}
	}
}

// TestValuesThatLookHostile: values that share parts, or hold a cycle
// only through fields the codec skips, are written and read back.
func TestValuesThatLookHostile(t *testing.T) {
	ctx := context.Background()
	type treeNode struct {
		Name     string
		Children []*treeNode
		Parent   *treeNode `json:"-" cbor:"-"`
	}
	root := &treeNode{Name: "root"}
	root.Children = []*treeNode{{Name: "a", Parent: root}, {Name: "b", Parent: root}}
	shared := &twin{V: 1}
	diamond := &twin{V: 0, A: shared, B: shared}
	for _, codec := range []string{"cbor", "json", "gob"} {
		c := open(t, "memory://?codec="+codec)
		err := c.Set(ctx, "tree", root)
		if codec == "gob" { // gob ignores the tags: the parent pointers loop
			if !errors.Is(err, keyedcache.ErrUnencodable) {
				t.Errorf("gob: Set(tree with parent pointers) = %v, want ErrUnencodable", err)
			}
		} else {
			if err != nil {
				t.Fatalf("%s: Set(tree whose parent pointers the codec skips) = %v", codec, err)
			}
			got, err := keyedcache.Get[treeNode](ctx, c, "tree")
			if err != nil || len(got.Children) != 2 || got.Children[1].Name != "b" || got.Children[0].Parent != nil {
				t.Errorf("%s: tree read back as %+v, %v", codec, got, err)
			}
		}
		if err := c.Set(ctx, "diamond", diamond); err != nil {
			t.Fatalf("%s: Set(a value sharing a part) = %v", codec, err)
		}
		got, err := keyedcache.Get[twin](ctx, c, "diamond")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(*diamond, got); d != "" {
			t.Errorf("%s: the shared part read back differently (-want +got):\n%s", codec, d)
		}
		big := make([]map[string]any, 50_000)
		for i := range big {
			big[i] = map[string]any{"i": i}
		}
		if err := c.Set(ctx, "big", big); err != nil {
			t.Errorf("%s: Set(50,000 small maps) = %v", codec, err)
		}
		deep := list(900)
		if err := c.Set(ctx, "deep", deep); err != nil {
			t.Errorf("%s: Set(a list 900 deep) = %v", codec, err)
		} else if got, err := keyedcache.Get[selfNode](ctx, c, "deep"); err != nil || got.V != 899 {
			t.Errorf("%s: a list 900 deep read back as %d, %v", codec, got.V, err)
		}
	}
}

// TestGobNilPointer: gob cannot encode a nil pointer; that is an error,
// not a panic.
func TestGobNilPointer(t *testing.T) {
	ctx := context.Background()
	c := open(t, "memory://?codec=gob")
	var p *product
	if err := c.Set(ctx, "nil", p); !errors.Is(err, keyedcache.ErrUnencodable) {
		t.Fatalf("Set(nil pointer) under gob = %v, want ErrUnencodable", err)
	}
	if _, err := c.Encode(p); !errors.Is(err, keyedcache.ErrUnencodable) {
		t.Fatalf("Encode(nil pointer) under gob = %v, want ErrUnencodable", err)
	}
	for _, codec := range []string{"cbor", "json"} { // these write null
		c := open(t, "memory://?codec="+codec)
		if err := c.Set(ctx, "nil", p); err != nil {
			t.Fatalf("%s: Set(nil pointer) = %v", codec, err)
		}
		if got, err := keyedcache.Get[*product](ctx, c, "nil"); got != nil || err != nil {
			t.Fatalf("%s: nil pointer read back as %v, %v", codec, got, err)
		}
	}
}

// TestTypeMismatchKeepsEntry: reading a value as another type is a
// miss that says what is stored and what was asked for, under every
// codec; the entry stays for readers of its type.
func TestTypeMismatchKeepsEntry(t *testing.T) {
	ctx := context.Background()
	for _, codec := range []string{"cbor", "json", "gob"} {
		c := open(t, "memory://?codec="+codec)
		c.Set(ctx, "s", "text")
		_, err := keyedcache.Get[int](ctx, c, "s")
		var te *keyedcache.TypeError
		if !errors.Is(err, keyedcache.ErrNotCached) || !errors.As(err, &te) {
			t.Fatalf("%s: Get[int] of a string = %v, want a miss caused by a *TypeError", codec, err)
		}
		if te.Wanted != "int" || !strings.Contains(te.Stored, "string") || !strings.Contains(err.Error(), "cannot be read as int") {
			t.Errorf("%s: TypeError{Stored: %q, Wanted: %q}: %v", codec, te.Stored, te.Wanted, err)
		}
		if v, err := keyedcache.Get[string](ctx, c, "s"); v != "text" || err != nil {
			t.Errorf("%s: after a read as int, Get[string] = %q, %v; want the entry kept", codec, v, err)
		}
		c.Set(ctx, "n", 300)
		if _, err := keyedcache.Get[uint8](ctx, c, "n"); !errors.As(err, &te) || te.Stored != "the integer 300" || te.Wanted != "uint8" {
			t.Errorf("%s: Get[uint8] of 300 = %v, want a *TypeError for the integer 300", codec, err)
		}
		if _, err := keyedcache.Get[string](ctx, c, "n"); !errors.As(err, &te) {
			t.Errorf("%s: Get[string] of 300 = %v, want a *TypeError", codec, err)
		}
		if v, err := keyedcache.Get[int](ctx, c, "n"); v != 300 || err != nil {
			t.Errorf("%s: Get[int] of 300 = %d, %v", codec, v, err)
		}
	}
	// The same in by-reference mode: the object stays.
	c := open(t, "memory://?by_reference=true")
	c.Set(ctx, "s", "text")
	var te *keyedcache.TypeError
	if _, err := keyedcache.Get[int](ctx, c, "s"); !errors.As(err, &te) {
		t.Fatalf("by reference: Get[int] of a string = %v, want a *TypeError", err)
	}
	if v, err := keyedcache.Get[string](ctx, c, "s"); v != "text" || err != nil {
		t.Errorf("by reference: after a read as int, Get[string] = %q, %v", v, err)
	}
}

type hiddenMap map[string]any

type inner struct{ Loop *withHidden }

type withHidden struct {
	hiddenMap // embedded, unexported, not a struct: no codec writes it
	inner     // embedded, unexported struct: its exported fields are written
	Name      string
}

// TestUnexportedParts: parts of a value the codecs do not write
// (unexported fields) are not looked at, and those they do write through
// an embedded unexported struct are; nothing panics.
func TestUnexportedParts(t *testing.T) {
	ctx := context.Background()
	h := hiddenMap{"x": 1}
	h["self"] = h // a loop the codecs never see
	v := withHidden{hiddenMap: h, Name: "n"}
	for _, codec := range []string{"cbor", "json"} {
		c := open(t, "memory://?codec="+codec)
		if err := c.Set(ctx, "v", v); err != nil {
			t.Errorf("%s: Set(a loop only in an unexported field) = %v", codec, err)
		}
		looped := &withHidden{Name: "loop"}
		looped.inner.Loop = looped
		if err := c.Set(ctx, "w", looped); !errors.Is(err, keyedcache.ErrUnencodable) {
			t.Errorf("%s: Set(a loop through an embedded struct's exported field) = %v, want ErrUnencodable", codec, err)
		}
	}
}
