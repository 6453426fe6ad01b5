package backendtest

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/keyedcache"
)

// Environment of the child processes of CrossProcess.
const (
	envXURL    = "KEYEDCACHE_XPROC_URL"
	envXPrefix = "KEYEDCACHE_XPROC_PREFIX"
)

// CrossProcess shows that processes sharing a backend see each other's
// writes and deletes: it starts the test binary again as child processes
// (see internal/testproc) that open the same URL. A value set in a child
// is read in the parent and the other way round, Add is atomic across
// them, and delete-with-children and delete-all in a child hide those
// keys in the parent while another alias's keys stay.
//
// url is called only in the parent (so the parent can start a server and
// pass its address); the children get the URL through their environment.
// The test that calls CrossProcess must not do anything else before it,
// because the children run the same test function.
func CrossProcess(t *testing.T, url func(t *testing.T) string) {
	if role, ok := testproc.Role(); ok {
		crossChild(t, role, os.Getenv(envXURL), os.Getenv(envXPrefix))
		return
	}
	u := url(t)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	prefix := "xp" + hex.EncodeToString(rnd[:])
	child := func(role string) {
		t.Helper()
		testproc.Start(t, role, envXURL+"="+u, envXPrefix+"="+prefix).Wait(t)
	}
	c := openURL(t, u, prefix)
	other := openURL(t, u, prefix+"o")

	child("set")
	if got, ok := get[product](t, c, "product", 1); !ok || !cmp.Equal(got, childProduct) {
		t.Fatalf("product 1 set by a child: %v, %+v; want %+v", ok, got, childProduct)
	}
	wantHit(t, c, "summary", "product", 1, "summary")
	wantHit(t, c, 9.5, "product", 1, "price")
	wantHit(t, c, "two", "product", 2)
	if ok, err := c.Add(ctxFor(t), "lock", "parent"); err != nil || ok {
		t.Fatalf("Add of a key a child added = %v, %v; want false, nil", ok, err)
	}

	set(t, c, "from-parent", 42)
	child("get")

	child("delete-children")
	wantGone(t, c, "product", 1)
	wantGone(t, c, "product", 1, "summary")
	wantGone(t, c, "product", 1, "price")
	wantHit(t, c, "two", "product", 2)

	set(t, other, "keep", 7)
	child("clear")
	wantGone(t, c, "product", 2)
	wantGone(t, c, "from-parent")
	wantGone(t, c, "lock")
	wantHit(t, other, 7, "keep")
}

var childProduct = product{ID: 1, Name: "from child", Price: 9.5, Tags: []string{"a", "b"}, Updated: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Active: true}

func crossChild(t *testing.T, role, u, prefix string) {
	if u == "" || prefix == "" {
		t.Fatalf("backendtest: child %q without %s and %s", role, envXURL, envXPrefix)
	}
	c := openURL(t, u, prefix)
	ctx := ctxFor(t)
	switch role {
	case "set":
		set(t, c, c.Key("product", 1), childProduct)
		set(t, c, c.Key("product", 1, "summary"), "summary")
		set(t, c, c.Key("product", 1, "price"), 9.5)
		set(t, c, c.Key("product", 2), "two")
		if ok, err := c.Add(ctx, "lock", "child"); err != nil || !ok {
			t.Fatalf("Add(lock) = %v, %v; want true, nil", ok, err)
		}
	case "get":
		wantHit(t, c, 42, "from-parent")
	case "delete-children":
		if err := c.DeleteChildren(ctx, "product", 1); err != nil {
			t.Fatalf("DeleteChildren: %v", err)
		}
	case "clear":
		if err := c.Clear(ctx); err != nil {
			t.Fatalf("Clear: %v", err)
		}
	default:
		t.Fatalf("backendtest: unknown child role %q", role)
	}
}

// openURL opens u as a Cache with its own key prefix.
func openURL(t *testing.T, u, prefix string) *keyedcache.Cache {
	t.Helper()
	c, err := keyedcache.Open(withParam(u, "key_prefix", prefix),
		keyedcache.WithAlias(prefix), keyedcache.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("keyedcache.Open(%s): %v", u, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// withParam adds name=value to the query of u.
func withParam(u, name, value string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + name + "=" + value
}
