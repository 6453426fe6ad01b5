package keyedcache

import (
	"testing"
)

// FuzzParseSlot: a slot of the process tiers' invalidation log, as any
// writer (or a corrupt backend) may have left it, parses into a sequence
// number and an operation of a known kind, or is refused; never a panic.
// What it parses, written again, parses the same; and every slot a
// writer writes reads back as written.
func FuzzParseSlot(f *testing.F) {
	for _, s := range []string{"1 kuser::1", "1099511627776 cuser", "42 a", "42 a%near::x", "-1 kx", "1 x", "1 ", "1", " k", "", "+7 kx", "9223372036854775808 kx", "1 k k k"} {
		f.Add([]byte(s), int64(7), byte('k'), "key::part")
	}
	f.Fuzz(func(t *testing.T, data []byte, seq int64, kind byte, key string) {
		if got, op, ok := parseSlot(data); ok {
			switch op.kind {
			case opKey, opTree, opAll:
			default:
				t.Fatalf("parseSlot(%q) = %d, %+v: unknown kind", data, got, op)
			}
			again, op2, ok2 := parseSlot(appendSlot(nil, got, op))
			if !ok2 || again != got || op2 != op {
				t.Fatalf("parseSlot(%q) = %d, %+v; written again and parsed: %d, %+v, %v", data, got, op, again, op2, ok2)
			}
		}
		op := nearOp{kind: nearOpKind(kind), key: key}
		got, op2, ok := parseSlot(appendSlot(nil, seq, op))
		switch op.kind {
		case opKey, opTree, opAll:
			if !ok || got != seq || op2 != op {
				t.Fatalf("slot of %d, %+v parses as %d, %+v, %v", seq, op, got, op2, ok)
			}
		default:
			if ok {
				t.Fatalf("slot of %d, %+v with an unknown kind parses as %d, %+v", seq, op, got, op2)
			}
		}
	})
}
