package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sameInstant compares times by instant (time.Time.Equal): no codec keeps
// the monotonic clock reading or the *time.Location pointer, and a cache
// does not need them.
var sameInstant = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// TestRoundTrip: every codec that claims nanosecond time fidelity must give
// back exactly the product it was given. Plain cbor (whole-second Unix
// time) is expected to lose the sub-second part and is checked for exactly
// that.
func TestRoundTrip(t *testing.T) {
	for _, v := range values {
		for _, c := range codecs {
			t.Run(v.name+"/"+c.name, func(t *testing.T) {
				got, err := roundTrip(c, v.sample, v.fresh())
				if err != nil {
					t.Fatal(err)
				}
				opts := cmp.Options{sameInstant}
				if c.name == "cbor" {
					opts = cmp.Options{cmp.Comparer(func(a, b time.Time) bool {
						return a.Truncate(time.Second).Equal(b.Truncate(time.Second))
					})}
				}
				if diff := cmp.Diff(v.sample, got, opts); diff != "" {
					t.Errorf("%s round trip of %s (-sent +received):\n%s", c.name, v.name, diff)
				}
			})
		}
	}
}

func roundTrip(c codec, v any, dst any) (any, error) {
	b, err := c.marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	if err := c.unmarshal(b, dst); err != nil {
		return nil, fmt.Errorf("unmarshal: %w", err)
	}
	return deref(dst), nil
}

func deref(p any) any {
	switch p := p.(type) {
	case *Product:
		return *p
	case *Counters:
		return *p
	case *[]Product:
		return *p
	}
	panic(fmt.Sprintf("unexpected %T", p))
}

// TestFidelity logs, per codec, which edge cases of a cached product come
// back different. It fails only for a panic: the differences are the
// codecs' documented behaviour and are the input to the choice of default.
func TestFidelity(t *testing.T) {
	plus2 := time.FixedZone("", 2*3600)
	now := time.Now() // Local, with a monotonic reading
	cases := []struct {
		name string
		p    Product
		// strict compares Location too (by offset), not only the instant.
		strict bool
	}{
		{name: "nil tags", p: Product{ID: 1, Tags: nil, Updated: updated}},
		{name: "empty tags", p: Product{ID: 1, Tags: []string{}, Updated: updated}},
		{name: "zero time", p: Product{ID: 1, Tags: []string{"a"}}},
		{name: "time.Now()", p: Product{ID: 1, Tags: []string{"a"}, Updated: now}},
		{name: "UTC offset kept", p: Product{ID: 1, Tags: []string{"a"}, Updated: updated.In(plus2)}, strict: true},
		{name: "max int64", p: Product{ID: math.MaxInt64, Tags: []string{"a"}, Updated: updated}},
		{name: "NaN price", p: Product{ID: 1, Price: math.NaN(), Tags: []string{"a"}, Updated: updated}},
		{name: "invalid UTF-8", p: Product{ID: 1, Name: "caf\xe9", Tags: []string{"a"}, Updated: updated}},
		{name: "NUL and emoji", p: Product{ID: 1, Name: "a\x00b 🧦", Tags: []string{"a"}, Updated: updated}},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-16s", "case")
	for _, c := range codecs {
		fmt.Fprintf(&table, " | %-9s", c.name)
	}
	table.WriteString("\n")
	for _, tc := range cases {
		fmt.Fprintf(&table, "%-16s", tc.name)
		for _, c := range codecs {
			res := "ok"
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s panicked on %q: %v", c.name, tc.name, r)
						res = "PANIC"
					}
				}()
				got, err := roundTrip(c, tc.p, new(Product))
				if err != nil {
					res = "error"
					t.Logf("%s, %s: %v", c.name, tc.name, err)
					return
				}
				opts := cmp.Options{cmpopts.EquateNaNs(), sameInstant}
				if tc.strict {
					opts = cmp.Options{cmpopts.EquateNaNs(), cmp.Comparer(sameOffset)}
				}
				if diff := cmp.Diff(tc.p, got, opts); diff != "" {
					res = "differs"
					t.Logf("%s, %s (-sent +received):\n%s", c.name, tc.name, diff)
				}
			}()
			fmt.Fprintf(&table, " | %-9s", res)
		}
		table.WriteString("\n")
	}
	t.Logf("round-trip fidelity:\n%s", table.String())
}

func sameOffset(a, b time.Time) bool {
	_, ao := a.Zone()
	_, bo := b.Zone()
	return a.Equal(b) && ao == bo
}

// decode reports the error of decoding data into dst, and the panic value
// if the decoder panicked instead.
func decode(c codec, data []byte, dst any) (err error, panicked any) {
	defer func() { panicked = recover() }()
	return c.unmarshal(data, dst), nil
}

// TestTruncated: every strict prefix of a valid encoding must be an error,
// never a panic and never a silently partial value.
func TestTruncated(t *testing.T) {
	for _, v := range values {
		for _, c := range codecs {
			t.Run(v.name+"/"+c.name, func(t *testing.T) {
				b, err := c.marshal(v.sample)
				if err != nil {
					t.Fatal(err)
				}
				for n := range len(b) {
					err, p := decode(c, b[:n], v.fresh())
					if p != nil {
						t.Errorf("%s panicked on %d of %d bytes: %v", c.name, n, len(b), p)
					} else if err == nil {
						t.Errorf("%s accepted %d of %d bytes without an error", c.name, n, len(b))
					}
				}
			})
		}
	}
}

// knownCrash lists the TestGarbage and TestHostileLength subtests whose
// decoder kills the process. msgpack v5.4.1 trusts an array's announced
// length for slices of anything but strings (decode_slice.go compares a
// flag with "!= 1" where it means "!= 0", so its 1e6-element limit never
// applies) and asks the runtime for length × element size at once: an
// unrecoverable "fatal error: runtime: out of memory", not a panic.
var knownCrash = map[string]bool{
	"TestGarbage/products20/msgpack": true,
	"TestHostileLength/msgpack":      true,
}

// TestGarbage feeds random bytes and single-byte corruptions of valid
// encodings to every decoder, each codec in a child process (see isolate).
// A decoder may accept some inputs (a corrupted character in a string is
// still a valid string); it must never panic or crash. The share accepted
// is logged.
func TestGarbage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var garbage [][]byte
	for range 3000 {
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		garbage = append(garbage, b)
	}
	for _, v := range values {
		for _, c := range codecs {
			t.Run(v.name+"/"+c.name, func(t *testing.T) {
				inChild, o := isolate(t)
				if !inChild {
					o.expect(t, knownCrash[t.Name()])
					return
				}
				valid, err := c.marshal(v.sample)
				if err != nil {
					t.Fatal(err)
				}
				inputs := append([][]byte(nil), garbage...)
				mr := rand.New(rand.NewPCG(3, 4))
				for i := range valid {
					for _, x := range []byte{0x00, 0xff, valid[i] ^ 0x80, byte(mr.Uint32())} {
						m := append([]byte(nil), valid...)
						m[i] = x
						inputs = append(inputs, m)
					}
				}
				accepted := 0
				for _, in := range inputs {
					err, p := decode(c, in, v.fresh())
					if p != nil {
						t.Errorf("%s panicked on % x: %v", c.name, in, p)
						continue
					}
					if err == nil {
						accepted++
					}
				}
				t.Logf("%s/%s: %d inputs, %d accepted without error, no panic", v.name, c.name, len(inputs), accepted)
			})
		}
	}
}

// TestHostileLength decodes five bytes that announce an array of products
// and then end: first 2^20 of them, then 2^32−1. A decoder that trusts the
// announced length allocates for it before finding that the input is
// short, so a corrupted entry, or anyone who can write to a shared cache,
// turns five bytes into megabytes or a crash. Each codec runs in a child
// process (see isolate); the bytes allocated are logged.
func TestHostileLength(t *testing.T) {
	be := binary.BigEndian.AppendUint32
	header := map[string][]byte{
		"msgpack":   {0xdd}, // array 32
		"cbor":      {0x9a}, // array, 4-byte length
		"cbor-nano": {0x9a},
		// gob bounds every length by the remaining input and json has no
		// length prefixes: nothing to announce.
	}
	for _, c := range codecs {
		h, ok := header[c.name]
		if !ok {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			inChild, o := isolate(t)
			if !inChild {
				o.expect(t, knownCrash[t.Name()])
				return
			}
			for _, n := range []uint32{1 << 20, math.MaxUint32} {
				in := be(append([]byte(nil), h...), n)
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				err, p := decode(c, in, new([]Product))
				runtime.ReadMemStats(&after)
				if p != nil {
					t.Errorf("%s panicked: %v", c.name, p)
				}
				if err == nil {
					t.Errorf("%s accepted a %d-byte input announcing %d products", c.name, len(in), n)
				}
				t.Logf("%s: %d-byte input announcing %d products: allocated %d bytes, err = %v",
					c.name, len(in), n, after.TotalAlloc-before.TotalAlloc, err)
			}
		})
	}
}
