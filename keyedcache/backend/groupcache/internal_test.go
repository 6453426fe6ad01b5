package groupcache

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// groupcache's peers put a key in a URL path with url.QueryEscape and
// read it back from the decoded path, which turns a space into "+" for
// good. groupKey must survive that trip.
func TestGroupKeySurvivesGroupcacheURLs(t *testing.T) {
	for _, key := range []string{"", "a b", "a+b", "a/b//c", "100%", "p::1::x y", "é::鍵::🐢", "ctl\x00\n\t", strings.Repeat("α", 125)} {
		gk := groupKey(key, 12345, 0xdeadbeef)
		u, err := url.Parse("http://peer:1/_groupcache/group/" + url.QueryEscape(gk))
		if err != nil {
			t.Fatal(err)
		}
		_, sent, _ := strings.Cut(strings.TrimPrefix(u.Path, "/_groupcache/"), "/")
		got, ok := keyOf(sent)
		if !ok || got != key {
			t.Errorf("key %q came back as %q (ok=%v) through groupcache's URL", key, got, ok)
		}
	}
	if _, ok := keyOf("no dots"); ok {
		t.Error("keyOf accepted a malformed groupcache key")
	}
}

func TestStampFollowsBumps(t *testing.T) {
	g := new(gens)
	keys := []string{"a", "a::b", "a::b::c", "a::b::c::d", "a::bc", "a::bc::d", "x::b::c", "a:::b"}
	before := map[string]uint64{}
	snap := func() {
		for _, k := range keys {
			before[k] = g.stamp(k)
		}
	}
	changed := func() []string {
		var out []string
		for _, k := range keys {
			if g.stamp(k) != before[k] {
				out = append(out, k)
			}
		}
		return out
	}

	for _, tc := range []struct {
		name string
		b    bump
		want []string
	}{
		{"key a::b", keyBump("a::b"), []string{"a::b"}},
		{"children of a::b", prefixBump("a::b::"), []string{"a::b::c", "a::b::c::d"}},
		// A prefix that does not end in "::" refreshes its whole head.
		{"prefix a::b", prefixBump("a::b"), []string{"a::b", "a::b::c", "a::b::c::d", "a::bc", "a::bc::d", "a:::b"}},
		{"prefix a:", prefixBump("a:"), []string{"a", "a::b", "a::b::c", "a::b::c::d", "a::bc", "a::bc::d", "x::b::c", "a:::b"}},
		{"children of a:", prefixBump("a:::"), []string{"a:::b"}},
		{"namespace", bump{table: tableSpace, token: newToken()}, keys},
	} {
		snap()
		g.apply(tc.b)
		if diff := cmp.Diff(tc.want, changed()); diff != "" {
			t.Errorf("%s: stamps changed (-want +got):\n%s", tc.name, diff)
		}
		for _, k := range keys { // every key that starts with the prefix must move
			if p := strings.TrimPrefix(tc.name, "prefix "); p != tc.name && strings.HasPrefix(k, p) && g.stamp(k) == before[k] {
				t.Errorf("%s: key %q starts with the prefix but kept its stamp", tc.name, k)
			}
		}
	}
}

// Bumps commute, so peers that received the same ones agree; a bump
// applied twice undoes itself, which is why no request carrying bumps is
// ever retried.
func TestBumpsCommute(t *testing.T) {
	x, y := keyBump("k"), prefixBump("k::")
	g1, g2 := new(gens), new(gens)
	g1.apply(x)
	g1.apply(y)
	g2.apply(y)
	g2.apply(x)
	if g1.stamp("k::a") != g2.stamp("k::a") || g1.stamp("k") != g2.stamp("k") {
		t.Fatal("the order of bumps changed the stamps")
	}
	zero := new(gens).stamp("k")
	g1.apply(x)
	g1.apply(x)
	if g1.stamp("k") == zero {
		t.Fatal("stamp back to zero with y still applied")
	}
	g3 := new(gens)
	g3.apply(x)
	g3.apply(x)
	if g3.stamp("k") != zero {
		t.Fatal("a bump applied twice did not undo itself")
	}
}

func TestBucket(t *testing.T) {
	if b := bucket("k", time.Now(), 0); b != 0 {
		t.Fatalf("bucket with no width = %d, want 0", b)
	}
	const w = time.Second
	start := time.Unix(1_700_000_000, 0)
	for _, key := range []string{"a", "b", "func::x::1"} {
		changes := 0
		prev := bucket(key, start, w)
		for d := time.Duration(0); d <= 10*w; d += 10 * time.Millisecond {
			if b := bucket(key, start.Add(d), w); b != prev {
				if b != prev+1 {
					t.Fatalf("%s: bucket jumped from %d to %d", key, prev, b)
				}
				changes++
				prev = b
			}
		}
		if changes != 10 {
			t.Errorf("%s: %d bucket changes in 10 widths, want 10", key, changes)
		}
	}
	if bucket("a", start, w) == bucket("b", start, w) && bucket("a", start.Add(w/2), w) == bucket("b", start.Add(w/2), w) &&
		bucket("a", start.Add(w/4), w) == bucket("b", start.Add(w/4), w) && bucket("a", start.Add(3*w/4), w) == bucket("b", start.Add(3*w/4), w) {
		t.Error("keys a and b change buckets at the same moment: no per-key offset")
	}
}

func TestBlob(t *testing.T) {
	now := time.Now()
	if v, ok := readBlob(makeBlob(true, []byte("v"), 0), now); !ok || string(v) != "v" {
		t.Errorf("present, no deadline: %q, %v", v, ok)
	}
	if v, ok := readBlob(makeBlob(true, nil, 0), now); !ok || len(v) != 0 {
		t.Errorf("present, empty: %q, %v", v, ok)
	}
	if _, ok := readBlob(makeBlob(true, []byte("v"), now.Add(-time.Millisecond).UnixNano()), now); ok {
		t.Error("an expired copy read as present")
	}
	if v, ok := readBlob(makeBlob(true, []byte("v"), now.Add(time.Second).UnixNano()), now); !ok || string(v) != "v" {
		t.Errorf("a live copy: %q, %v", v, ok)
	}
	for _, b := range [][]byte{nil, {1}, makeBlob(false, []byte("v"), 0), append([]byte{7}, make([]byte, 8)...)} {
		if _, ok := readBlob(b, now); ok {
			t.Errorf("blob %v read as present", b)
		}
	}
}

func TestWireRoundTrip(t *testing.T) {
	req := &request{ring: "abcd", ns: "ns", op: opCAS,
		items: []item{{key: "k", value: []byte("v"), old: []byte{}, ttl: int64(time.Minute), delta: -3}, {key: "é"}},
		bumps: []bump{{table: tableTree, slot: slots - 1, token: 1<<64 - 1}}}
	got, err := decodeRequest(req.encode())
	if err != nil {
		t.Fatal(err)
	}
	// Empty and nil slices both decode as empty.
	req.items[1].value, req.items[1].old, req.items[0].old = []byte{}, []byte{}, []byte{}
	if diff := cmp.Diff(req, got, cmp.AllowUnexported(request{}, item{}, bump{})); diff != "" {
		t.Errorf("request (-sent +received):\n%s", diff)
	}
	resp := &response{err: "", results: []result{{code: codeNotNumeric, found: true, value: []byte("x"), deadline: 42, n: -7}}, n: 3, keys: []string{"a", "b::c"}}
	gotResp, err := decodeResponse(resp.encode())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(resp, gotResp, cmp.AllowUnexported(response{}, result{})); diff != "" {
		t.Errorf("response (-sent +received):\n%s", diff)
	}
	enc := req.encode()
	for i := range enc { // every strict prefix is malformed
		if _, err := decodeRequest(enc[:i]); err == nil {
			t.Fatalf("a request cut to %d of %d bytes decoded", i, len(enc))
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add((&request{ring: "r", ns: "n", op: opSet, items: []item{{key: "k", value: []byte("v")}}}).encode())
	f.Add((&response{results: []result{{found: true, value: []byte("v")}}, keys: []string{"k"}}).encode())
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := decodeRequest(data); err == nil {
			if _, err := decodeRequest(r.encode()); err != nil {
				t.Fatalf("a decoded request does not re-encode: %v", err)
			}
		}
		if r, err := decodeResponse(data); err == nil {
			if _, err := decodeResponse(r.encode()); err != nil {
				t.Fatalf("a decoded response does not re-encode: %v", err)
			}
		}
	})
}

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{Self: "127.0.0.1:9001", Peers: []string{"http://127.0.0.1:9002/", "127.0.0.1:9001"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://127.0.0.1:9001", "http://127.0.0.1:9002"}
	if o.Self != want[0] || !cmp.Equal(o.Peers, want) {
		t.Errorf("Self %q, Peers %v; want %q, %v", o.Self, o.Peers, want[0], want)
	}
	if o.BasePath != DefaultBasePath || o.Namespace != DefaultNamespace || o.CacheBytes != DefaultCacheBytes ||
		o.MaxEntries != DefaultMaxEntries || o.MaxStale != DefaultMaxStale || o.PeerTimeout != DefaultPeerTimeout ||
		o.FillTimeout != DefaultFillTimeout || o.Logger == nil {
		t.Errorf("defaults not applied: %+v", o)
	}
	if _, err := (Options{Self: "https://127.0.0.1:9001"}).withDefaults(); err == nil {
		t.Error("an https Self the node would listen on itself was accepted")
	}
	if _, err := (Options{Self: "https://127.0.0.1:9001", Mount: true}).withDefaults(); err != nil {
		t.Errorf("an https Self served by the caller: %v", err)
	}
}

// BenchmarkGetKey measures what every Get and Fill adds before
// groupcache: the stamp and the groupcache key of a typical key.
func BenchmarkGetKey(b *testing.B) {
	g := new(gens)
	key := "site1::v2::product::123::summary"
	b.ReportAllocs()
	for b.Loop() {
		_ = groupKey(key, bucket(key, time.Now(), time.Minute), g.stamp(key))
	}
}
