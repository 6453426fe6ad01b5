package keyedcache

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"strconv"
)

// The stored forms of the process tier's invalidation log (tier_near.go).
// The counter is decimal text, so that every backend's native increment
// works on it. A slot is "<seq> <kind><key>": its sequence number, one
// byte of kind (k: a key, c: a key and its children, a: everything) and
// the key.

// slotKey is the backend key of the slot of seq.
func (nt *nearTier) slotKey(seq int64) string {
	i := seq % LogSlots
	if i < 0 {
		i += LogSlots
	}
	return nt.slotHead + strconv.FormatInt(i, 10)
}

func appendSlot(b []byte, seq int64, op nearOp) []byte {
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, ' ', byte(op.kind))
	return append(b, op.key...)
}

func parseSlot(data []byte) (seq int64, op nearOp, ok bool) {
	sp := bytes.IndexByte(data, ' ')
	if sp < 0 || sp+1 >= len(data) {
		return 0, op, false
	}
	seq, ok = parseInt(data[:sp])
	if !ok {
		return 0, op, false
	}
	op = nearOp{kind: nearOpKind(data[sp+1]), key: string(data[sp+2:])}
	switch op.kind {
	case opKey, opTree, opAll:
		return seq, op, true
	}
	return 0, op, false
}

func parseInt(data []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(data), 10, 64)
	return n, err == nil
}

// seqStart is the first value of a new counter: random in [2^40, 2^52),
// so that a counter created again after it vanished does not take up
// where the old one was, and far from overflowing.
func seqStart() []byte {
	var b [8]byte
	rand.Read(b[:])
	n := int64(binary.LittleEndian.Uint64(b[:])%(1<<52-1<<40)) + 1<<40
	return strconv.AppendInt(nil, n, 10)
}
