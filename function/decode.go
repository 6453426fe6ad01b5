package function

import (
	"encoding/binary"
	"math"

	"keyedcache.dev/keyedcache"
)

// decodeEntry decodes a stored entry. Under the CBOR codec (the default)
// it reads the entry's fixed fields itself and hands only the result to
// the codec: a hit then costs what a plain Get of the result costs, not
// that plus a generic decode of the record around it. Anything it does
// not expect goes to the codec's own decoder, which has the last word.
func decodeEntry[R any](c *keyedcache.Cache, h *head, data []byte, ent *entry[R]) error {
	if h != nil && h.cbor && len(data) > 2 && data[0] == h.tag && data[1] == cborArray7 {
		if decodeCBOREntry(c, data[2:], ent) {
			return nil
		}
		*ent = entry[R]{}
	}
	// Decode into an entry of its own, so that ent (on the caller's
	// stack, on the hit path) never escapes into the codec's interface.
	p := new(entry[R])
	if err := c.Decode(data, p); err != nil {
		return err
	}
	*ent = *p
	return nil
}

// cborArray7 is the CBOR header of an array of seven items: an entry
// encoded by the CBOR codec (its struct tag asks for an array).
const cborArray7 = 0x87

// decodeCBOREntry reads the seven items of an entry in order: State,
// Fresh, Stale, Lease (unsigned integers), Token, Err (text), V.
func decodeCBOREntry[R any](c *keyedcache.Cache, b []byte, ent *entry[R]) bool {
	var u [4]uint64
	for i := range u {
		v, n, ok := cborHead(b, 0)
		if !ok || (i == 0 && v > math.MaxUint8) || v > math.MaxInt64 {
			return false
		}
		u[i], b = v, b[n:]
	}
	var s [2]string
	for i := range s {
		l, n, ok := cborHead(b, 3)
		if !ok || uint64(len(b)-n) < l {
			return false
		}
		if l > 0 {
			s[i] = string(b[n : n+int(l)])
		}
		b = b[n+int(l):]
	}
	ent.State, ent.Fresh, ent.Stale, ent.Lease = uint8(u[0]), int64(u[1]), int64(u[2]), int64(u[3])
	ent.Token, ent.Err = s[0], s[1]
	// The CBOR codec returns an error, never panics, on bytes it cannot
	// decode (its decoder is fuzzed for that). The result is decoded into
	// a value of its own for the reason given in decodeEntry.
	v := new(R)
	if c.Codec().Unmarshal(b, v) != nil {
		return false
	}
	ent.V = *v
	return true
}

// cborHead reads the head of a CBOR item of the given major type: its
// argument (the value of an unsigned integer, the length of a text) and
// the head's length.
func cborHead(b []byte, major byte) (arg uint64, n int, ok bool) {
	if len(b) == 0 || b[0]>>5 != major {
		return 0, 0, false
	}
	switch ai := b[0] & 0x1f; {
	case ai < 24:
		return uint64(ai), 1, true
	case ai == 24 && len(b) >= 2:
		return uint64(b[1]), 2, true
	case ai == 25 && len(b) >= 3:
		return uint64(binary.BigEndian.Uint16(b[1:])), 3, true
	case ai == 26 && len(b) >= 5:
		return uint64(binary.BigEndian.Uint32(b[1:])), 5, true
	case ai == 27 && len(b) >= 9:
		return binary.BigEndian.Uint64(b[1:]), 9, true
	}
	return 0, 0, false
}
