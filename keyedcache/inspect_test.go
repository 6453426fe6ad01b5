package keyedcache_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/dummy"
	"keyedcache.dev/keyedcache/backend/file"
	"keyedcache.dev/keyedcache/backend/memory"
)

func newMemory(t testing.TB, opts memory.Options) *memory.Store {
	t.Helper()
	s, err := memory.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func wrap(t testing.TB, b backend.Backend, opts ...keyedcache.Option) *keyedcache.Cache {
	t.Helper()
	c, err := keyedcache.New(b, append([]keyedcache.Option{keyedcache.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listerOnly hides prefix delete, so the core uses namespace
// generations, but keeps key listing and TTL reading.
type listerOnly struct {
	backend.Backend
	backend.TTLReader
	backend.KeyLister
}

func scanAll(t *testing.T, c *keyedcache.Cache, prefix string) ([]string, bool) {
	t.Helper()
	var keys []string
	complete, err := c.ScanKeys(t.Context(), prefix, func(k string) bool { keys = append(keys, k); return true })
	if err != nil {
		t.Fatalf("ScanKeys(%q): %v", prefix, err)
	}
	slices.Sort(keys)
	return keys, complete
}

// pages reads every page of ListKeys and checks the page flags.
func pages(t *testing.T, c *keyedcache.Cache, prefix string, limit int) (keys []string, n int) {
	keys, ps := backendtest.ListAll(t, c, prefix, limit)
	return keys, len(ps)
}

func TestScanKeysStripsThePrefixAndKeepsOtherAliasesOut(t *testing.T) {
	ctx := t.Context()
	s := newMemory(t, memory.Options{})
	site := wrap(t, s, keyedcache.WithKeyPrefix("site1"), keyedcache.WithVersion(2))
	other := wrap(t, s, keyedcache.WithKeyPrefix("site2"))
	for _, k := range []string{"product::1", "product::1::summary", "product::12", "user::7"} {
		site.Set(ctx, site.Key(k), k)
		other.Set(ctx, other.Key(k), k)
	}
	got, complete := scanAll(t, site, "")
	want := []string{"product::1", "product::12", "product::1::summary", "user::7"} // byte order: '2' < ':'

	if d := cmp.Diff(want, got); d != "" || !complete {
		t.Errorf("ScanKeys(\"\") complete=%v (-want +got):\n%s", complete, d)
	}
	got, _ = scanAll(t, site, "product::1")
	if d := cmp.Diff(want[:3], got); d != "" {
		t.Errorf("ScanKeys(product::1) (-want +got):\n%s", d)
	}
	if st := site.Stats(); st.Calls != 0 {
		t.Errorf("listing counted %d reads", st.Calls)
	}
}

// unsorted hides the memory store's ordered listing, so that the core
// takes its path for backends that list in no order (a pass over the
// keys under the prefix, keeping the smallest).
type unsorted struct {
	backend.Backend
	backend.KeyLister
	backend.PrefixDeleter
	backend.TTLReader
}

func newUnsorted(t testing.TB) unsorted {
	s := newMemory(t, memory.Options{})
	return unsorted{s, s, s, s}
}

func TestListKeysPagesInOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    backend.Backend
		seen int // KeyPage.Seen of the page checked below
	}{
		{"sorted", newMemory(t, memory.Options{}), -1},
		{"unsorted", newUnsorted(t), 50},
	} {
		t.Run(tc.name, func(t *testing.T) { testListKeysPagesInOrder(t, tc.b, tc.seen) })
	}
}

func testListKeysPagesInOrder(t *testing.T, b backend.Backend, seen int) {
	ctx := t.Context()
	c := wrap(t, b, keyedcache.WithKeyPrefix("p"))
	var want []string
	for i := range 250 {
		k := fmt.Sprintf("item::%03d", i)
		c.Set(ctx, c.Key(k), i)
		want = append(want, k)
	}
	c.Set(ctx, c.Key("other", 1), 1)

	got, n := pages(t, c, "item::", 100)
	if d := cmp.Diff(want, got); d != "" || n != 3 {
		t.Errorf("pages of 100: %d pages (-want +got):\n%s", n, d)
	}
	got, n = pages(t, c, "item::", 50) // 250 keys: 5 full pages, the last says no More
	if d := cmp.Diff(want, got); d != "" || n != 5 {
		t.Errorf("pages of 50: %d pages (-want +got):\n%s", n, d)
	}
	p, err := c.ListKeys(ctx, "item::2", "item::205", 3)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(keyedcache.KeyPage{Keys: []string{"item::206", "item::207", "item::208"}, More: true, Complete: true, Seen: seen}, p); d != "" {
		t.Errorf("ListKeys(item::2 after item::205) (-want +got):\n%s", d)
	}
	// A key deleted between pages does not disturb the next page.
	c.Delete(ctx, "item::209")
	p, _ = c.ListKeys(ctx, "item::2", "item::208", 2)
	if d := cmp.Diff([]string{"item::210", "item::211"}, p.Keys); d != "" {
		t.Errorf("after a delete (-want +got):\n%s", d)
	}
}

func TestListKeysUnderGenerations(t *testing.T) {
	ctx := t.Context()
	s := newMemory(t, memory.Options{})
	b := listerOnly{s, s, s}
	c := wrap(t, b)
	for _, k := range []string{"a::0", "product::1", "product::1::summary", "product::1::x", "product::12", "product::2"} {
		c.Set(ctx, c.Key(k), k)
	}
	// Many dead entries sort before the live ones, so a page must look
	// past them.
	for i := range 7 {
		c.Set(ctx, c.Key("dead", i), i)
	}
	if err := c.DeleteChildren(ctx, "product", 1); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteChildren(ctx, "dead"); err != nil {
		t.Fatal(err)
	}
	want := []string{"a::0", "product::12", "product::2"}
	got, complete := scanAll(t, c, "")
	if d := cmp.Diff(want, got); d != "" || !complete {
		t.Errorf("ScanKeys complete=%v (-want +got):\n%s", complete, d)
	}
	got, _ = pages(t, c, "", 2)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ListKeys pages of 2 (-want +got):\n%s", d)
	}
	// The backend really holds the dead entries and the tokens.
	var raw int
	s.ScanKeys(ctx, "", func(string) bool { raw++; return true })
	if raw <= len(want) {
		t.Fatalf("the backend holds %d keys; the test needs dead entries", raw)
	}

	// Entries are stored under their own keys, so a key of 250 bytes
	// (the longest) is listed as it is, and the listing stays complete.
	long := c.Key(strings.Repeat("x", 190), strings.Repeat("y", 30))
	if len(long) != 250 {
		t.Fatalf("the long key is %d bytes, want 250", len(long))
	}
	c.Set(ctx, long, 1)
	got, complete = scanAll(t, c, "")
	p, err := c.ListKeys(ctx, "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if !complete || !p.Complete || !slices.Contains(got, long) || !slices.Contains(p.Keys, long) {
		t.Errorf("with a long key: ScanKeys complete=%v %q, ListKeys complete=%v %q; want it listed, complete", complete, got, p.Complete, p.Keys)
	}

	// Deleting a listed key with children works under generations too.
	if err := c.DeleteListed(ctx, "product", true); err != nil {
		t.Fatal(err)
	}
	got, _ = scanAll(t, c, "product")
	if len(got) != 0 {
		t.Errorf("after DeleteListed(product, children): %q remain", got)
	}
}

// sortedLister counts the calls of the memory store's ordered listing.
type sortedLister struct {
	*memory.Store
	calls *int
}

func (s sortedLister) ScanKeysAfter(ctx context.Context, prefix, after string, fn func(string) bool) (bool, error) {
	*s.calls++
	return s.Store.ScanKeysAfter(ctx, prefix, after, fn)
}

func TestListKeysUsesSortedListing(t *testing.T) {
	ctx := t.Context()
	calls := 0
	c := wrap(t, sortedLister{newMemory(t, memory.Options{}), &calls}, keyedcache.WithKeyPrefix("s"))
	var want []string
	for i := range 30 {
		k := fmt.Sprintf("k::%02d", i)
		c.Set(ctx, c.Key(k), i)
		want = append(want, k)
	}
	got, n := pages(t, c, "k::", 7)
	if d := cmp.Diff(want, got); d != "" || n != 5 {
		t.Errorf("%d pages (-want +got):\n%s", n, d)
	}
	if calls != n {
		t.Errorf("ScanKeysAfter called %d times for %d pages", calls, n)
	}
	p, _ := c.ListKeys(ctx, "k::", "", 7)
	if p.Seen != -1 {
		t.Errorf("Seen = %d on an ordered listing; want -1", p.Seen)
	}
}

func TestListKeysOnFiles(t *testing.T) {
	ctx := t.Context()
	s, err := file.New(t.TempDir(), file.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := wrap(t, s, keyedcache.WithKeyPrefix("f"))
	var want []string
	for i := range 25 {
		k := fmt.Sprintf("doc::%02d", i)
		c.Set(ctx, c.Key(k), i)
		want = append(want, k)
	}
	got, _ := pages(t, c, "", 10)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestCannotList(t *testing.T) {
	c := wrap(t, dummy.Backend{})
	_, err := c.ListKeys(t.Context(), "", "", 10)
	if !errors.Is(err, keyedcache.ErrCannotList) || !errors.Is(err, backend.ErrNotSupported) {
		t.Errorf("ListKeys on dummy: %v; want ErrCannotList", err)
	}
	_, err = c.ScanKeys(t.Context(), "", func(string) bool { return true })
	if !errors.Is(err, keyedcache.ErrCannotList) {
		t.Errorf("ScanKeys on dummy: %v; want ErrCannotList", err)
	}
}

func TestInspect(t *testing.T) {
	ctx := t.Context()
	s := newMemory(t, memory.Options{})
	c := wrap(t, s, keyedcache.WithKeyPrefix("site"))
	when := time.Date(2025, 3, 1, 12, 0, 0, 5, time.UTC)
	c.Set(ctx, c.Key("product", 1), product{ID: 1, Name: "Tortoise", Price: 9.5, Tags: []string{"slow"}, Updated: when}, keyedcache.TTL(time.Hour))
	c.Set(ctx, c.Key("visits"), 41, keyedcache.TTL(keyedcache.Forever))
	c.Incr(ctx, "visits", 1)

	e, err := c.Inspect(ctx, "product::1")
	if err != nil {
		t.Fatal(err)
	}
	wantValue := map[string]any{"ID": uint64(1), "Name": "Tortoise", "Price": 9.5, "Tags": []any{"slow"}, "Updated": "2025-03-01T12:00:00.000000005Z"}
	if d := cmp.Diff(wantValue, e.Value); d != "" || e.DecodeErr != nil {
		t.Errorf("Value (-want +got):\n%s\nDecodeErr: %v", d, e.DecodeErr)
	}
	if !e.TTLKnown || e.TTL <= 59*time.Minute || e.TTL > time.Hour {
		t.Errorf("TTL = %v (known %v); want just under 1h", e.TTL, e.TTLKnown)
	}
	if e.Size == 0 || len(e.Raw) != e.Size || e.Key != "product::1" {
		t.Errorf("Size %d, Raw %d bytes, Key %q", e.Size, len(e.Raw), e.Key)
	}

	e, err = c.Inspect(ctx, "visits")
	if err != nil || e.Value != int64(42) || e.TTL != keyedcache.Forever || !e.TTLKnown {
		t.Errorf("Inspect(visits) = %+v, %v; want 42 forever", e, err)
	}

	_, err = c.Inspect(ctx, "nothing")
	var miss *keyedcache.NotCachedError
	if !errors.As(err, &miss) || miss.Key != "site::nothing" {
		t.Errorf("Inspect(nothing) = %v; want a NotCachedError for site::nothing", err)
	}
	if st := c.Stats(); st.Calls != 0 {
		t.Errorf("Inspect counted %d reads", st.Calls)
	}
}

func TestInspectCorruptValues(t *testing.T) {
	ctx := t.Context()
	s := newMemory(t, memory.Options{})
	c := wrap(t, s)
	bad := map[string][]byte{
		"empty":      {},
		"wrongcodec": {0x02, '{'},
		"truncated":  {0x01, 0xbf, 0x61},                                           // CBOR: an open map, cut short
		"deep":       append([]byte{0x01}, slices.Repeat([]byte{0x81}, 100000)...), // 100000 nested arrays
		"notanumber": []byte("12ab"),
		"huge":       {0x01, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // an array of 2^64-1
	}
	for k, v := range bad {
		if err := s.Set(ctx, k, v, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range bad {
		e, err := c.Inspect(ctx, k)
		if err != nil {
			t.Errorf("Inspect(%s): %v", k, err)
			continue
		}
		if e.DecodeErr == nil || e.Value != nil {
			t.Errorf("Inspect(%s): Value %v, DecodeErr %v; want an error", k, e.Value, e.DecodeErr)
		}
		if e.Size != len(v) || len(e.Raw) != min(len(v), keyedcache.RawPreview) {
			t.Errorf("Inspect(%s): Size %d, Raw %d; stored %d", k, e.Size, len(e.Raw), len(v))
		}
		if _, found, _ := s.Get(ctx, k); !found {
			t.Errorf("Inspect(%s) deleted the entry", k)
		}
	}
}

func TestInspectByReference(t *testing.T) {
	ctx := t.Context()
	c := wrap(t, newMemory(t, memory.Options{ByReference: true}))
	p := &product{ID: 3, Name: "Hare"}
	c.Set(ctx, "product::3", p)
	e, err := c.Inspect(ctx, "product::3")
	if err != nil || !e.ByReference || e.Value != any(p) {
		t.Errorf("Inspect = %+v, %v; want the very value, by reference", e, err)
	}
}

func TestDeleteListedAddressesTheKeyAsListed(t *testing.T) {
	ctx := t.Context()
	s := newMemory(t, memory.Options{})
	c := wrap(t, s)
	// "a b" was written by another program; Key would escape it to
	// "a%20b", which is a different entry.
	s.Set(ctx, "a b", []byte("1"), time.Minute)
	c.Set(ctx, c.Key("a b"), 2)
	got, _ := scanAll(t, c, "a")
	if d := cmp.Diff([]string{"a b", "a%20b"}, got); d != "" {
		t.Fatalf("listed (-want +got):\n%s", d)
	}
	if e, err := c.Inspect(ctx, "a b"); err != nil || e.Value != int64(1) {
		t.Errorf("Inspect(a b) = %+v, %v", e, err)
	}
	if err := c.DeleteListed(ctx, "a b", false); err != nil {
		t.Fatal(err)
	}
	got, _ = scanAll(t, c, "a")
	if d := cmp.Diff([]string{"a%20b"}, got); d != "" {
		t.Errorf("after DeleteListed(a b) (-want +got):\n%s", d)
	}
	if st := c.Stats(); st.Deletes != 1 {
		t.Errorf("Deletes = %d; want 1", st.Deletes)
	}

	for _, k := range []string{"t::1", "t::1::x", "t::1::x::y", "t::10"} {
		c.Set(ctx, k, k)
	}
	if err := c.DeleteListed(ctx, "t::1", true); err != nil {
		t.Fatal(err)
	}
	got, _ = scanAll(t, c, "t::")
	if d := cmp.Diff([]string{"t::10"}, got); d != "" {
		t.Errorf("after DeleteListed(t::1, children) (-want +got):\n%s", d)
	}
}

func ExampleCache_ListKeys() {
	ctx := context.Background()
	c, _ := keyedcache.Open("memory://?key_prefix=shop")
	defer c.Close()
	for i := range 5 {
		c.Set(ctx, c.Key("product", i), i*10)
	}
	c.Set(ctx, c.Key("user", 1), "Ann")

	page, _ := c.ListKeys(ctx, "product::", "", 2)
	fmt.Println(page.Keys, page.More)
	page, _ = c.ListKeys(ctx, "product::", page.Keys[len(page.Keys)-1], 2)
	fmt.Println(page.Keys, page.More)
	// Output:
	// [product::0 product::1] true
	// [product::2 product::3] true
}

func ExampleCache_Inspect() {
	ctx := context.Background()
	c, _ := keyedcache.Open("memory://?key_prefix=shop")
	defer c.Close()
	c.Set(ctx, c.Key("product", 7), map[string]any{"name": "Tortoise"}, keyedcache.TTL(keyedcache.Forever))

	e, err := c.Inspect(ctx, "product::7")
	fmt.Println(e.Value, e.TTL == keyedcache.Forever, err)
	// Output: map[name:Tortoise] true <nil>
}

// BenchmarkListKeys reads the first page of 50 keys of aliases of
// different sizes on the memory backend, which lists in order from a
// cursor (backend.SortedKeyLister): a page costs the page and a seek per
// index shard, whatever the size. The "/filtered" runs ask for the keys
// under a "::" prefix, a tenth of them.
func BenchmarkListKeys(b *testing.B) {
	for _, n := range []int{10, 10_000, 1_000_000} {
		s := newMemory(b, memory.Options{MaxEntries: 2 * n})
		c := wrap(b, s)
		ctx := context.Background()
		for i := range n {
			s.Set(ctx, fmt.Sprintf("group%d::item::%08d", i%10, i), []byte("1"), time.Hour)
		}
		b.Run(fmt.Sprintf("keys=%d/all", n), func(b *testing.B) {
			for b.Loop() {
				if p, err := c.ListKeys(ctx, "", "", 50); err != nil || len(p.Keys) != min(n, 50) {
					b.Fatal(len(p.Keys), err)
				}
			}
		})
		b.Run(fmt.Sprintf("keys=%d/filtered", n), func(b *testing.B) {
			for b.Loop() {
				if p, err := c.ListKeys(ctx, "group3::", "", 50); err != nil || len(p.Keys) == 0 {
					b.Fatal(len(p.Keys), err)
				}
			}
		})
		s.Close() // free the keys before the next size
	}
}
