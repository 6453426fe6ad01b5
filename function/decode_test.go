package function

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
)

type sample struct {
	ID    int
	Name  string
	Tags  []string
	When  time.Time
	Score float64
	M     map[string]int
}

// TestDecodeEntryFastPath checks that the CBOR fast path reads every
// entry exactly as the codec's own decoder does.
func TestDecodeEntryFastPath(t *testing.T) {
	c, err := keyedcache.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e := &engine[sample]{name: "t"}
	h := e.headOf(c)
	if !h.cbor {
		t.Fatal("the CBOR layout was not recognised: the fast path is never taken")
	}
	long := string(make([]byte, 70000))
	for i, ent := range []entry[sample]{
		{},
		{State: stateValue, V: sample{ID: 1, Name: "a", Tags: []string{"x", "y"}, When: time.Unix(1, 5).UTC(), Score: 1.5, M: map[string]int{"a": 1}}},
		{State: statePending, Lease: time.Now().UnixNano(), Token: "0123456789abcdef01234567"},
		{State: stateError, Fresh: math.MaxInt64, Err: "upstream down"},
		{State: stateValue, Fresh: 23, Stale: 24, Lease: 255, Token: "t", V: sample{Name: long}},
		{State: stateValue, Fresh: 256, Stale: 65535, Lease: 65536, Err: long[:300]},
		{State: stateValue, Fresh: 1 << 32, Stale: 1<<32 - 1, Lease: math.MaxInt64},
	} {
		data, err := c.Encode(ent)
		if err != nil {
			t.Fatal(err)
		}
		var fast, slow entry[sample]
		if !decodeCBOREntry(c, data[2:], &fast) {
			t.Fatalf("entry %d: the fast path refused %x", i, data[:min(len(data), 40)])
		}
		if err := c.Decode(data, &slow); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(slow, fast, cmp.AllowUnexported(entry[sample]{})); d != "" {
			t.Fatalf("entry %d: fast path (+) and codec (-) differ:\n%s", i, d)
		}
		if d := cmp.Diff(ent, fast, cmp.AllowUnexported(entry[sample]{})); d != "" {
			t.Fatalf("entry %d: decoded (+) differs from encoded (-):\n%s", i, d)
		}
	}
}

// FuzzDecodeEntry checks that no bytes make decodeEntry panic, and that
// what it accepts the codec accepts alike.
func FuzzDecodeEntry(f *testing.F) {
	c, err := keyedcache.Open("memory://")
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	e := &engine[sample]{name: "t"}
	h := e.headOf(c)
	for _, ent := range []entry[sample]{{}, {State: stateValue, Fresh: 99, V: sample{ID: 3, Tags: []string{"q"}}}, {State: statePending, Token: "tok", Lease: 1 << 40}} {
		data, _ := c.Encode(ent)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want entry[sample]
		err := decodeEntry(c, h, data, &got)
		werr := c.Decode(data, &want)
		if err == nil && werr == nil {
			if d := cmp.Diff(want, got, cmp.AllowUnexported(entry[sample]{})); d != "" {
				t.Fatalf("%x: decodeEntry (+) and the codec (-) differ:\n%s", data, d)
			}
		}
	})
}
