// Package keyedcache caches values under keys built from parts, in a
// backend chosen by alias, with a typed miss that carries its key.
//
//	p, err := keyedcache.CacheGet[Product](ctx, "product", id)
//	var miss *keyedcache.NotCachedError
//	if errors.As(err, &miss) {
//		p = loadProduct(ctx, id)                   // the slow thing
//		keyedcache.CacheSet(ctx, miss.Key, p)       // stored under exactly that key
//	}
//
// It carries the ideas of Django's keyedcache into Go: keys from parts,
// get and set with a NotCachedError, delete with children, aliases
// configured by URL. Package-level functions (CacheGet, CacheSet, …) act
// on the default alias; the same operations are methods of *Cache, with
// Get, GetOr and GetMany as generic functions because Go methods cannot
// be generic.
//
// # Keys
//
// Key (and CacheKey on the default alias) builds a key from parts. The
// encoding is a specification, pinned by the test vectors in
// key_test.go:
//
//   - Parts are joined with "::". The alias's key_prefix, then its
//     version as "v<N>", come first; a first part that already starts with
//     them is not prefixed again, so a built key can be passed back.
//   - A string is key text: "::" inside it separates parts, so
//     Key("product::123") == Key("product", 123). Spaces, control
//     characters, '%' and invalid UTF-8 bytes are percent-escaped with
//     uppercase hex ("a b" → "a%20b", so "a b" and "a.b" differ); so is a
//     lone ':' at either end of a part ("b:" → "b%3A"), so that "::"
//     separates parts at one place only and Key("a", "b:", "c") differs
//     from Key("a", "b", ":c"). An escape or marker the builder itself
//     wrote is kept, so every key this package built is a fixed point of
//     Key. Valid UTF-8 is kept as is.
//   - Integers in decimal; floats in the shortest form that round-trips
//     (1.5, 100, 1e-06); bools as true and false; time.Time in UTC,
//     RFC 3339 with nanoseconds; time.Duration as its String; []byte as
//     text. Named types of these kinds key by their value.
//   - A value with a CacheKey() string method (Keyer) is keyed by that
//     text; one with a CacheID() any method (Identifier, like Django's
//     pk) by its identity; one that implements encoding.TextMarshaler by
//     its text. Pointers are followed.
//   - A lone slice stands for its elements: Key([]any{"a", 1}) ==
//     Key("a", 1). Any other value — a struct, a map, a nested slice — is
//     keyed "%h" and 32 hex digits of SHA-256 over a canonical encoding
//     (type name, fields in order, map entries sorted), the same in every
//     process and every run. A value that refers to itself is encoded
//     with a back-reference and keyed like any other. One nested more
//     than 512 deep, or sharing subvalues so often that it would take
//     more than 16,384 repeated values to write out, has no key: Key
//     returns the prefix and "%unkeyable", under which nothing is stored
//     (writes return ErrUnkeyable, reads miss).
//   - KV pairs are sorted by name and appended as name::value.
//   - Absent, empty and nil are three keys: "a", "a::" and "a::%nil". A
//     key with nothing in it at all is "%empty".
//   - Keys are at most 250 bytes (memcached's limit, the tightest), so
//     no backend ever receives a key it would reject, and a long key is
//     shortened so that its children stay under it (delete-with-children
//     deletes by prefix). A key of at most 214 bytes is kept as it is.
//     Beyond, parts are kept from the left while the key stays within
//     214 bytes; the part that would pass it is cut to a head of at most
//     32 bytes followed by "%h" and 32 hex digits of a hash of the key so
//     far and the whole part, which keeps the key within 214 bytes, so its
//     children have room for parts of their own: a child's key starts
//     with its parent's key and "::". Each such part takes at most 68
//     bytes, so any three long parts (with short ones between) keep this
//     exact. Past that depth — the key so far longer than 178 bytes —
//     the rest becomes one tail part ("%t" and a hash chained over the
//     parts), up to 250 bytes; such a key has no room for children of its
//     own, so its children sit beside it under its parent, and
//     DeleteChildren on it deletes the parent's whole subtree: more than
//     asked, never less. Key(Key(long), "x") == Key(long, "x") at any
//     length.
//
// # Time to live
//
// Writes use the alias's timeout parameter (300 seconds when unset) or a
// TTL option. A positive TTL may be below a second where the backend
// allows; Forever never expires; zero or a negative TTL means the entry is
// already expired: nothing is stored and an existing entry is deleted, as
// Django does with a timeout of 0.
//
// # Failure
//
// A cache is an optimisation. When a backend fails, reads miss (the
// *NotCachedError wraps the cause), writes are dropped, and the error is
// counted in Stats and logged through log/slog once per burst. A stored
// value that cannot be decoded is a miss too: it is deleted and counted,
// never a panic. A value that decodes, but not as the type asked for
// (Get[int] on a stored string), is a miss caused by a *TypeError that
// names both; it is counted, and the entry stays for the readers of its
// type. Bad configuration is the exception: an unknown scheme, parameter
// or value is an error at Open that names it and lists what is valid.
// After Close every operation returns an error matching ErrClosed.
//
// # Values
//
// A value is encoded by the alias's codec (cbor, json or gob) and read
// back as a copy. A value the codec cannot encode is an error of the
// write that matches ErrUnencodable: a channel or a function, a nil
// pointer under gob, and, for the built-in codecs, a value that refers to
// itself (n.Next = &n: the codecs would recurse without end), one nested
// more than 1,000 levels deep, or one sharing subvalues so often that
// writing it out would take more than 4,194,304 values. Such values are
// found by a look at the value before the codec runs, in time
// proportional to it; fields the codec skips (tagged "-") are not
// looked at, so a tree whose parent pointers are tagged json:"-" is
// encoded as usual under cbor and json (gob ignores tags).
//
// A wrong answer is worse than none, so an invalidation is never lost to
// a failure. A Delete, DeleteChildren, DeleteMany or Clear that cannot
// reach the backend is queued in its Cache, in order, and replayed as
// soon as the backend answers again: each later operation first waits
// for one replay attempt, and a background retrier with backoff replays
// it for a process that makes no calls. Until its replay this process
// serves nothing the invalidation covers — reads miss in every tier,
// writes store nothing — and the delete's error matches
// ErrInvalidationPending. A write that fails (Set, SetMany, SetBytes,
// CompareAndSwap, Incr, Touch) is queued as a delete of its key: the
// backend may still hold the value the write meant to replace, and that
// value must not outlive the failure. (A failed Add queues nothing: it
// replaces no value.) The queue holds MaxPendingInvalidations entries;
// past that it folds into one clear of the alias's keys. Stats counts
// what is pending, replayed and folded.
//
// The queue lives in one process. While the backend is unreachable,
// other processes cannot read it either; but between the moment it
// answers again and the moment the replay reaches it (normally the next
// call of the deleting process, at most about a second for an idle one),
// another process can still read the old value; and if the deleting
// process exits with invalidations queued, they are lost and the old
// values live until their TTL. With several memcached servers, a queued
// invalidation waits for the server of its key: the ones queued after it
// wait too.
//
// # Configuration
//
// Aliases map names to URLs (memory://, file:///path, dummy://, and the
// schemes of backends a program imports). Configure them in code with
// Configure or a Registry, or in the environment: KEYEDCACHE_ALIASES
// holds "name=URL" pairs separated by ';', and KEYEDCACHE_ALIAS chooses
// the alias the package-level functions use. With nothing configured,
// "default" is memory://.
package keyedcache
