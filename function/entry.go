package function

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"keyedcache.dev/keyedcache"
)

// Everything this package keeps for one call lives in one cache entry,
// under the call's key: the result once there is one, and meanwhile a
// claim (a lease) by the process computing it. Keeping the claim in the
// same entry as the result is what keeps stale results out: a result is
// written with a compare-and-swap of the exact bytes of the claim, and a
// delete of the key — of that call, of the function, of the whole cache —
// removes the claim, so the swap fails and the result is only returned,
// never stored.

// The states of an entry.
const (
	statePending uint8 = iota + 1 // a claim, no result yet
	stateValue                    // a result
	stateError                    // a cached error (WithErrorTTL)
)

// entry is the record stored under a call's key, encoded by the cache's
// codec. Times are Unix nanoseconds of the wall clock, so processes that
// share a cache must share a clock (processes on one machine do).
type entry[R any] struct {
	_     struct{} `cbor:",toarray"` // CBOR: an array, decoded by position
	State uint8    `json:"s"`
	Fresh int64    `json:"f,omitempty"` // a result is fresh until then; 0: for ever
	Stale int64    `json:"u,omitempty"` // and may be served stale until then (WithStale)
	Lease int64    `json:"l,omitempty"` // a claim holds until then; 0: none
	Token string   `json:"t,omitempty"` // who claimed it
	Err   string   `json:"e,omitempty"` // stateError: the message
	V     R        `json:"v,omitempty"`

	// until is Fresh on the monotonic clock, in an entry made in this
	// process (a slot's, in a by-reference store): reading it costs half
	// of reading the wall clock. Never stored as bytes; zero elsewhere.
	until time.Time
}

// kind is what a reader makes of an entry at a moment.
type kind int

const (
	kindAbsent  kind = iota // nothing usable: claim it
	kindFresh               // a fresh result or cached error: return it
	kindStale               // a stale result: return it, refresh it if unclaimed
	kindPending             // claimed by a live computation: wait
)

func (e *entry[R]) kind(now int64) kind {
	switch e.State {
	case stateValue, stateError:
		if e.Fresh == 0 || now < e.Fresh {
			return kindFresh
		}
		if e.State == stateValue && now < e.Stale {
			return kindStale
		}
	case statePending:
	default:
		return kindAbsent
	}
	// A claimed entry with no result to serve is a computation under way.
	if e.claimed(now) {
		return kindPending
	}
	return kindAbsent
}

// fresh reports whether e is a fresh result or cached error now: what
// kind reports as kindFresh, on the monotonic clock when e has it.
func (e *entry[R]) fresh() bool {
	switch {
	case e.State != stateValue && e.State != stateError:
		return false
	case e.Fresh == 0:
		return true
	case !e.until.IsZero():
		return time.Until(e.until) > 0
	}
	return time.Now().UnixNano() < e.Fresh
}

// freshFor makes e fresh for ttl from now.
func (e *entry[R]) freshFor(now time.Time, ttl time.Duration) {
	e.until = now.Add(ttl)
	e.Fresh = e.until.UnixNano()
}

// claimed reports whether a stale result's refresh is claimed by a live
// computation.
func (e *entry[R]) claimed(now int64) bool { return e.Token != "" && now < e.Lease }

// keepFor is how long an entry must live in the backend: a result until
// it is neither fresh nor servable stale, a claim until its lease ends,
// whichever is later; an entry with none of these lives a moment only.
func (e *entry[R]) keepFor(now time.Time) time.Duration {
	if e.State != statePending && e.Fresh == 0 {
		return keyedcache.Forever
	}
	end := max(e.Lease, e.Fresh, e.Stale)
	return max(time.Duration(end-now.UnixNano()), time.Millisecond)
}

func newToken() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
