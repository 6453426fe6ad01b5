package keyedcache_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
)

var errDown = errors.New("store is down")

// failing is a backend whose store never answers: the core must turn
// that into misses and dropped writes, never into errors for reads.
type failing struct{}

func (failing) Get(context.Context, string) ([]byte, bool, error) { return nil, false, errDown }
func (failing) Set(context.Context, string, []byte, time.Duration) error {
	return errDown
}
func (failing) Add(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, errDown
}
func (failing) Delete(context.Context, string) (bool, error) { return false, errDown }
func (failing) Clear(context.Context) error                  { return errDown }
func (failing) Close() error                                 { return nil }

func TestBackendDownDegradesToMiss(t *testing.T) {
	var logged bytes.Buffer
	c, err := keyedcache.New(failing{}, keyedcache.WithKeyPrefix("p"), keyedcache.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() }) // stops the retrier of the delete the failed Set queued
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v"); err != nil {
		t.Fatalf("Set on a down backend = %v, want the write dropped silently", err)
	}
	_, err = keyedcache.Get[string](ctx, c, "k")
	var miss *keyedcache.NotCachedError
	if !errors.As(err, &miss) || !errors.Is(err, errDown) || miss.Key != "p::k" {
		t.Fatalf("Get on a down backend = %v, want a miss for p::k wrapping the cause", err)
	}
	if got := keyedcache.GetOr(ctx, c, "fallback", "k"); got != "fallback" {
		t.Fatalf("GetOr = %q", got)
	}
	if st := c.Stats(); st.Errors < 3 || st.Misses != 2 || st.Hits != 0 {
		t.Fatalf("stats = %+v: want the errors counted and two misses", st)
	}
	for range 100 {
		keyedcache.Get[string](ctx, c, "k")
	}
	if n := strings.Count(logged.String(), "backend error"); n != 1 {
		t.Fatalf("a burst of 103 failures logged %d lines, want 1:\n%s", n, logged.String())
	}
	if st := c.Stats(); st.Errors != 103 {
		t.Fatalf("Errors = %d, want all 103 counted", st.Errors)
	}
}
