// Package function caches slow functions by their arguments: a result is
// computed once — across goroutines and across processes that share the
// cache — stored, and returned from the cache until it expires or is
// deleted, and a result computed across a delete is never stored.
//
//	lookup := function.CacheFunction(findRestaurant, function.WithTTL(10*time.Minute))
//	r, err := lookup(ctx, "Chez Panisse") // slow: computed and stored
//	r, err = lookup(ctx, "Chez Panisse")  // fast: from the cache
//
// CacheFunction returns a function of the same type as the one it wraps;
// New returns a Func whose methods act on single results as well: Peek
// reads one without computing, Set stores one, Delete removes one,
// Refresh recomputes one. CacheFunction0, CacheFunction2 and
// CacheFunction3 (and New0, New2, New3) do the same for functions of no
// argument and of two and three. A function of more arguments takes them
// as one struct, which is keyed by a hash of all its fields (or by its
// CacheKey method, or a WithKey function).
//
// # Keys
//
// A result is cached under func::<name>::<arguments>, built by the
// cache's key rules (keyedcache.Key), so f(ctx, 7) of a function named
// example.com/shop.price is "func::example.com/shop.price::7".
// The name is the function's package path and name, or the one WithName
// gives. A closure, a method value or a generic function must be given
// a name: the same code computes different things for different captured
// variables, receivers or type arguments. CacheDeleteFunction (or
// DeleteAll) deletes func::<name> with its children: every result of the
// function, in every process.
//
// # Once per process
//
// Calls that ask for the same key at the same time in one process share
// one flight, keyed by the cache key, and one result. On a backend that
// other processes share (Redis, memcached, SQL, file…) a call joins the
// flight before it touches the backend: the callers of one key make one
// read between them and, on a miss, one claim and one computation. On an
// in-process store (memory://) a call reads first — a read there costs
// little and cannot be slow — and only a miss joins the flight, which
// reads once more and claims. The computation runs on the first caller's
// context without its cancellation (context.WithoutCancel): a caller
// whose context ends returns ctx.Err() at once, and the computation goes
// on for the others, and is stored, even if every caller has gone.
//
// # Once across processes
//
// A miss claims the key in the cache before computing: it adds a claim
// (a random token with a lease time, WithLease) under the key itself,
// which only one process can do. The claimant renews the lease while it
// computes and then replaces the claim with the result. Other processes
// poll the key, with a backoff from 1 ms up to 50 ms, until the result
// appears, their context ends, or the longest wait (WithMaxWait) passes —
// then they compute themselves and return their result without storing
// it. If the claimant dies, its lease runs out and the next caller
// claims the key.
//
// # A slow backend is not a backend that is down
//
// A read that fails — a timeout on a loaded machine, say — does not make
// a call compute: the claim still decides. A claim that times out may
// have landed all the same, so its caller pauses and reads again: its
// own token there makes the claim its own, another's claim or a result
// is followed, and nothing at all is claimed again with the same token.
// While a claim of its own is in doubt or another's claim is pending, a
// caller waits failures out up to WithMaxWait; once a call has timed
// out, it keeps trying to claim for up to a lease. Only a backend that
// refuses at once (closed, connection refused, a breaker open) makes a
// call compute without a claim, after three refusals — and a delete of
// the key still waiting for the backend (keyedcache.ErrInvalidationPending)
// at once. Such computations are counted in Stats.Unclaimed; their
// result is stored only if a claim of their own turns out to have
// landed. A result whose store fails is stored later, in the background,
// while its claim lasts, so that the processes waiting for it get it
// when the backend answers again. A server that stops answering for less
// than WithMaxWait therefore still sees one computation per key.
//
// # Never a stale result
//
// The result replaces the claim only by compare-and-swap of the claim's
// exact bytes. Deleting the key — with Delete, CacheDeleteFunction, a
// delete with children of a prefix, or Clear, from any process — removes
// the claim, so the swap fails: the callers of that computation get its
// result, but it is not stored, and the next call computes afresh. (On a
// backend without compare-and-swap the core compares and then writes,
// which leaves a small window.) Calls in one process that joined a
// computation (or a read of the cache) before a delete share its result;
// a delete made in the same process — with Delete, CacheDeleteFunction,
// or through the Cache itself (keyedcache.Cache's Delete, DeleteMany,
// DeleteChildren, DeleteListed, Clear) — makes later calls start a new
// one. A delete made by another process reaches a computation here
// through its claim only: calls here that join it after that delete still
// get its result, which is not stored.
//
// # On groupcache
//
// On a backend whose processes fill cold keys themselves
// (backend.Filler: groupcache://), a call asks the backend to Fill a key
// that carries its encoded arguments, and the peer that owns the key
// decodes them and runs the function, once for every process asking.
// Claims and polling are not used there; results live for TTL-wide time
// buckets (never older than the TTL), WithStale and WithErrorTTL do not
// apply, and Peek sees only results stored with Set or Refresh. Every
// process must wrap the function (with WithCache, at start) before the
// others call it, so that the owner knows its name. The arguments must
// be encodable by the cache's codec.
//
// # By reference
//
// On a memory:// store with by_reference=true, results are kept as they
// are, not encoded: a hit decodes nothing, and returns the very value
// that was computed (its slices, maps and pointers shared by every
// caller, as for every value of that cache). A call's entry then lives in
// a slot that the store keeps by reference; claims, leases, stale
// results and deletes work as they do on bytes.
//
// # Stale while revalidate
//
// With WithStale(d) a result stays in the cache d past its TTL. A call in
// that window returns the old result at once and starts one refresh in
// the background, claimed like any computation, so one process refreshes
// while all of them serve the old result.
//
// # Errors, panics and failures
//
// An error the function returns is returned to every caller waiting on
// that computation and is not cached, unless WithErrorTTL asks for it
// (then later callers get a *CachedError until it expires). A panic in
// the function caches nothing, frees the claim, and reaches every caller
// waiting on that computation as a panic with a *PanicError, which
// carries the panic value and the stack where it happened; net/http and
// similar servers recover it per request as they would the original
// panic. A background refresh that fails or panics is logged and leaves
// the stale result. A function must not call runtime.Goexit.
//
// A cache is an optimisation. When the cache is disabled
// (keyedcache.CacheEnable(false)) the function is simply called. When the
// backend refuses, the function is called (once per process for calls at
// the same moment), its result returned and not stored, and the failure
// counted; when it is slow, see above.
//
// # Stats
//
// Every function's calls, hits, misses, computations and their total
// time, lease waits, stale results served, refreshes, discarded results,
// errors and computations without a claim are counted per process (Func.Stats, StatsOf, AllStats) and
// shown as the "functions" section of keyedcache's stats snapshot.
package function
