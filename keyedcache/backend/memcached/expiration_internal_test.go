package memcached

import (
	"math"
	"testing"
	"time"
)

func TestExpiration(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const day = 24 * time.Hour
	cases := []struct {
		ttl  time.Duration
		want int64
	}{
		{0, 0},                              // never
		{time.Nanosecond, 2},                // up to a second, plus the tick
		{100 * time.Millisecond, 2},         //
		{time.Second, 2},                    // a whole second, plus the tick
		{1500 * time.Millisecond, 3},        //
		{time.Minute, 61},                   //
		{30*day - time.Second, maxRelative}, // the last relative time
		{30 * day, 1_800_000_000 + maxRelative + 1},
		{31 * day, 1_800_000_000 + 31*86400 + 1},
		{time.Duration(math.MaxInt32-1_800_000_000-1) * time.Second, math.MaxInt32},
		{time.Duration(math.MaxInt32-1_800_000_000) * time.Second, 0}, // past 2038: never
		{math.MaxInt64, 0},
	}
	for _, c := range cases {
		if got := expiration(c.ttl, now); int64(got) != c.want {
			t.Errorf("expiration(%v) = %d, want %d", c.ttl, got, c.want)
		}
	}
}

func TestMapKey(t *testing.T) {
	for _, k := range []string{"a b", "\x00", string(make([]byte, 300)), "é" + string(make([]byte, 300))} {
		m := mapKey(k)
		if !legalKey(m) || !isMapped(m) || len(m) > maxKeyLen {
			t.Errorf("mapKey(%q) = %q: legal %v, mapped %v", k, m, legalKey(m), isMapped(m))
		}
		if mapKey(k) != m {
			t.Errorf("mapKey(%q) is not deterministic", k)
		}
	}
	if mapKey("a b") == mapKey("a\tb") {
		t.Error(`"a b" and "a\tb" map to one key`)
	}
	for _, k := range []string{"plain", "app::x%hdeadbeef", "x%m0123"} {
		if isMapped(k) {
			t.Errorf("isMapped(%q) = true", k)
		}
	}
}
