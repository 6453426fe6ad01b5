// Package backendtest is the conformance suite every keyedcache backend
// passes against its real store, with one line in its tests:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) { ... })
//	}
//
// open returns two backend values that share one store, standing for two
// processes (for an in-process store, the same value twice; for a server
// or a directory, two connections to it). Each case opens a fresh pair.
// The suite checks the raw contract (bytes, TTLs, Add, optional
// capabilities) and then the same behaviour through two keyedcache.Cache
// values on the pair, including delete-with-children and delete-all
// seen from the second one, which must leave other prefixes and other
// aliases' keys alone.
//
// Like net/http/httptest, it sits above the package it tests: it imports
// keyedcache, which the backends never do.
package backendtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// An Option adjusts the suite to a backend.
type Option func(*suite)

// StoresNothing says the backend keeps nothing (the dummy backend): the
// suite then checks that every read misses and every call succeeds.
func StoresNothing() Option { return func(s *suite) { s.storesNothing = true } }

// Slack sets how much later than its TTL an entry may still be seen, for
// stores with coarse expiry (default 0: an entry must be gone once its
// TTL has passed).
func Slack(d time.Duration) Option { return func(s *suite) { s.slack = d } }

type suite struct {
	open          func(t *testing.T) (a, b backend.Backend)
	storesNothing bool
	slack         time.Duration
}

// Run runs the whole suite.
func Run(t *testing.T, open func(t *testing.T) (a, b backend.Backend), opts ...Option) {
	s := &suite{open: open}
	for _, o := range opts {
		o(s)
	}
	if s.storesNothing {
		t.Run("StoresNothing", s.testStoresNothing)
		t.Run("Closed", s.testNothingClosed)
		return
	}
	t.Run("raw", func(t *testing.T) {
		t.Run("SetGetOverwriteMiss", s.testRawSetGet)
		t.Run("Add", s.testRawAdd)
		t.Run("Delete", s.testRawDelete)
		t.Run("Values", s.testRawValues)
		t.Run("UnicodeKeys", s.testRawUnicodeKeys)
		t.Run("Expiry", s.testRawExpiry)
		t.Run("Capabilities", s.testRawCapabilities)
		t.Run("SortedKeys", s.testRawSortedKeys)
		t.Run("IncrBounds", s.testRawIncrBounds)
		t.Run("Closed", s.testRawClosed)
	})
	t.Run("cache", func(t *testing.T) {
		t.Run("TypedRoundTrip", s.testTypedRoundTrip)
		t.Run("NilAndZeroAreHits", s.testNilAndZero)
		t.Run("MissCarriesKey", s.testMissCarriesKey)
		t.Run("TTL", s.testTTL)
		t.Run("Add", s.testAdd)
		t.Run("Delete", s.testDelete)
		t.Run("DeleteChildrenSeenByOtherProcess", s.testDeleteChildren)
		t.Run("ClearSeenByOtherProcess", s.testClear)
		t.Run("Touch", s.testTouch)
		t.Run("IncrDecr", s.testIncr)
		t.Run("Many", s.testMany)
		t.Run("Disabled", s.testDisabled)
		t.Run("CorruptValueIsMiss", s.testCorrupt)
		t.Run("Keys", s.testKeys)
		t.Run("Require", s.testRequire)
		t.Run("Concurrent", s.testConcurrent)
		t.Run("DecrBounds", s.testDecrBounds)
		t.Run("DisabledStillDeletes", s.testDisabledStillDeletes)
		t.Run("SetManyRefused", s.testSetManyRefused)
		t.Run("LongKeyChildren", s.testLongKeyChildren)
		t.Run("Closed", s.testCacheClosed)
	})
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wait sleeps past a TTL, plus the backend's slack.
func (s *suite) wait(d time.Duration) { time.Sleep(d + s.slack) }

// inTimeTries bounds the attempts of inTime.
const inTimeTries = 10

// inTime runs try, which writes entries that live for ttl and checks
// them before they can have expired. A try that fails sooner than ttl
// after it began fails the test. One that fails later proves nothing:
// on a loaded machine the goroutine may wait for a CPU longer than the
// entry lives, so the check may have come after a correct expiry. Such
// a try is made again, up to inTimeTries times; n counts the tries from
// 0, and try names its keys after it, so that no try meets entries an
// earlier one left.
func inTime(t *testing.T, ttl time.Duration, try func(n int) error) {
	t.Helper()
	for n := 0; ; n++ {
		begin := time.Now()
		err := try(n)
		if err == nil {
			return
		}
		took := time.Since(begin)
		if took < ttl {
			t.Fatal(err)
		}
		if n+1 == inTimeTries {
			t.Fatalf("%v (each of %d tries took longer than the %v ttl, the last %v)", err, inTimeTries, ttl, took)
		}
		t.Logf("try %d took %v, longer than the %v ttl, and failed: %v; trying again", n, took, ttl, err)
	}
}

// keyN names the key of try n of inTime.
func keyN(key string, n int) string { return fmt.Sprintf("%s%d", key, n) }
