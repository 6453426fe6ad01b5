// Package threaded gives keyedcache its first-level caches: one per
// request, and maps local to a process that every process clears
// together.
//
// # A cache per request
//
// Middleware gives each HTTP request a request tier: a small cache, in
// the request's context, in front of every alias. Within the request, a
// key read twice reaches the backend once; the request's own writes update
// the tier and its deletes (with children, and Clear) clear it; misses are
// never kept. When the request ends the tier is emptied, so nothing
// outlives the request or leaks into another one. WithRequestCache does
// the same for work that is not an HTTP request: a job, a message
// handler, a gRPC call.
//
//	http.ListenAndServe("127.0.0.1:8080", threaded.Middleware(mux))
//
// The tier keeps the stored form of each value and decodes it on every
// read, so a value read from it is a copy, as one read from the backend
// is; a value whose type holds no references (numbers, strings, structs of
// them, times) is decoded once and handed out by value. A read returns
// what the request first read or wrote: another request's write made
// meanwhile is seen by the next request. Reads that must see other
// writers at once — polling a key until it changes — pass
// keyedcache.SkipTiers(ctx). Hits are counted in the alias's Stats as
// RequestHits.
//
// # Maps cleared in every process
//
// A LocalSync is a named map kept in this process's memory — for values
// too costly to fetch on every use and too unwieldy to encode, such as
// compiled templates or permission tables — whose Clear in any process
// makes every other process's copy clear itself before its next use. Each
// map has a random token stored in a shared backend (an alias); Clear
// replaces it, and a process that sees a token other than the one it
// last saw clears its copy. No clock is involved. Inside a request scope
// all maps on one backend are checked together, once per request, with
// one backend read (a many-key read); outside one, every use checks its
// map's token.
//
// # A near cache per process
//
// The process tier — a size-bounded copy of a remote alias's entries in
// this process, invalidated by every other process's writes (on Redis
// by the server itself, elsewhere through a log in the backend) — is
// configured on the alias itself (near_entries,
// near_staleness and near_ttl; see keyedcache.NearCache), since every
// read of the alias goes through it:
//
//	keyedcache.Configure(map[string]string{
//		"default": "redis://127.0.0.1:6379?near_entries=10000&near_staleness=1s",
//	})
package threaded
