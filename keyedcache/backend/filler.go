package backend

import (
	"context"
	"time"
)

// FillFunc computes the value of key; it runs in the process that owns
// key. The key is exactly what the caller passed to Filler.Fill, so a
// caller that needs arguments puts them in the key in a form its fill can
// decode. The returned slice belongs to the backend after the call.
//
// An error is returned to every caller waiting for key and is not
// cached: the next Fill of key computes again. The context is the one of
// the call that started the computation (for a caller in another
// process, its request to the owner), as with singleflight: if that
// caller gives up, the computation sees its context cancelled, and the
// callers waiting with it get its error.
type FillFunc func(ctx context.Context, key string) ([]byte, error)

// A Filler computes each missing key once across every process sharing
// the backend: a backend whose processes cooperate so that, of many
// processes asking for the same cold key at the same moment, one
// computes it and the others wait for its result.
//
// Fill keys live in the same key space as Get and Set keys: Delete,
// DeletePrefix and Clear of a key or a prefix also forget the Fill
// results under it, so that deleting the prefix "func::pkg.F::" forgets
// every filled result whose key starts with it. A Fill result is not a
// Get entry: Get of a filled key does not return it.
type Filler interface {
	// RegisterFill registers fill under name in this process. Every
	// process that calls Fill with name must register the same name
	// first (groupcache: one group per name). Registering a name twice in
	// one process is an error.
	RegisterFill(name string, fill FillFunc) error
	// Fill returns the value of key: from any peer's cache, or computed
	// once by the owning peer's fill registered under name, kept for ttl
	// (NoExpiry: until it is deleted or evicted). The returned slice
	// belongs to the caller.
	Fill(ctx context.Context, name, key string, ttl time.Duration) ([]byte, error)
}
