package keyedcache

import (
	"strings"
	"testing"
)

// FuzzKeyText: appendText's shortcut (copy text that isKeyText passes as
// it is) writes exactly what escaping it would: isKeyText(s) holds
// exactly when escapeText leaves s unchanged (and it names no unkeyable
// part).
func FuzzKeyText(f *testing.F) {
	for _, s := range []string{"", "a", "a::b", "a:b", ":a", "a:", "a:::b", "a::::b", "::", "%20", "%2", "%h0123456789abcdef0123456789abcdef",
		"%t0123456789abcdef0123456789abcdef", "%nil", "%empty", "%unkeyable", "é", "\xff", "a b", "site1::func::keyedcache.dev/x.f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		same := string(escapeText(nil, s)) == s && !strings.Contains(s, unkeyableMarker)
		if isKeyText(s) != same {
			t.Fatalf("isKeyText(%q) = %v, but escaping gives %q", s, isKeyText(s), escapeText(nil, s))
		}
		if got, want := string(appendText(nil, s)), string(escapeText(nil, s)); got != want {
			t.Fatalf("appendText(%q) = %q, escapeText = %q", s, got, want)
		}
	})
}
