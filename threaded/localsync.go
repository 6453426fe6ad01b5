package threaded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

// LocalSync is a named map in this process's memory whose Clear, called
// in any process, makes every other process's copy clear itself before
// its next use. Processes share the clears through a token per map stored
// in a cache's backend; they share nothing else: each process fills its
// own copy.
//
// Values are kept as they are, not encoded: a value read back is the very
// value stored, so nobody may change a value after putting it in the map.
//
// Inside a request cache (Middleware, WithRequestCache) the maps on one
// backend are checked together at their first use in the request, with
// one backend read, and a value computed in a request is not stored if
// the map was cleared after the request first used it (it may have been
// computed from what the clear was about). Outside a request cache every
// use checks its map's token, one backend read each.
//
// When the backend cannot be read, the maps keep serving what they hold:
// every clear that reached the backend is still there to be seen once it
// answers, and a backend that comes back empty is noticed (the tokens
// are gone) and clears every map. A Clear whose token cannot be written
// returns the error: the other processes have not been told.
//
// A LocalSync is safe for concurrent use.
type LocalSync[K comparable, V any] struct {
	name string
	g    *group

	mu    sync.RWMutex
	m     map[K]V
	epoch atomic.Uint64 // bumped by every clear

	clears       atomic.Uint64 // clears made here
	remoteClears atomic.Uint64 // clears seen from other processes (or in doubt)
}

// NewLocalSync returns the map called name whose clears are shared
// through c's backend. Two maps of one name on one backend clear
// together. The name must be 1 to 100 bytes.
func NewLocalSync[K comparable, V any](name string, c *keyedcache.Cache) *LocalSync[K, V] {
	if len(name) == 0 || len(name) > 100 {
		panic(fmt.Sprintf("threaded: NewLocalSync: name %q: want 1 to 100 bytes", name))
	}
	m := &LocalSync[K, V]{name: name, m: make(map[K]V)}
	m.g = groupFor(c)
	m.g.add(m)
	return m
}

// Name returns the map's name.
func (m *LocalSync[K, V]) Name() string { return m.name }

// Get returns the value stored under k in this process, after making sure
// no other process has cleared the map since this one last looked.
func (m *LocalSync[K, V]) Get(ctx context.Context, k K) (V, bool) {
	m.sync(ctx)
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.m[k]
	return v, ok
}

// Set stores v under k in this process. Inside a request cache it stores
// nothing if the map was cleared since the request first used it.
func (m *LocalSync[K, V]) Set(ctx context.Context, k K, v V) {
	epoch, scoped := m.sync(ctx)
	m.put(k, v, epoch, scoped)
}

// GetOrLoad returns the value under k, or calls load, stores its result
// (unless the map was cleared while load ran, or since the request first
// used the map) and returns it. An error from load is returned and
// nothing is stored. Concurrent calls for one key may each call load.
func (m *LocalSync[K, V]) GetOrLoad(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	epoch, scoped := m.sync(ctx)
	m.mu.RLock()
	v, ok := m.m[k]
	m.mu.RUnlock()
	if ok {
		return v, nil
	}
	if !scoped {
		epoch = m.epoch.Load()
	}
	v, err := load(ctx)
	if err != nil {
		return v, err
	}
	m.put(k, v, epoch, true)
	return v, nil
}

func (m *LocalSync[K, V]) put(k K, v V, epoch uint64, guarded bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if guarded && m.epoch.Load() != epoch {
		return
	}
	m.m[k] = v
}

// Delete removes k in this process only.
func (m *LocalSync[K, V]) Delete(ctx context.Context, k K) {
	m.mu.Lock()
	delete(m.m, k)
	m.mu.Unlock()
}

// Clear empties the map here and tells every other process to empty its
// copy before its next use. It returns an error (the local copy is
// emptied all the same) if the backend could not be told.
func (m *LocalSync[K, V]) Clear(ctx context.Context) error {
	m.clears.Add(1)
	for _, x := range m.g.all() {
		if x.mapName() == m.name {
			x.clearLocal()
		}
	}
	return m.g.announce(ctx, m)
}

// Len returns the number of entries in this process's copy.
func (m *LocalSync[K, V]) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.m)
}

// Close detaches the map from its backend: it is no longer checked, and
// another map may take its name.
func (m *LocalSync[K, V]) Close() { m.g.remove(m) }

// sync checks the map's token as the context allows, and returns the
// epoch a value computed now must still find to be stored: the epoch at
// the request's first use inside a scope (scoped true), else the current
// one.
func (m *LocalSync[K, V]) sync(ctx context.Context) (epoch uint64, scoped bool) {
	sc := scopeOf(ctx)
	if sc == nil {
		m.g.check(ctx, []syncMap{m})
		return m.epoch.Load(), false
	}
	return sc.use(ctx, m.g, m), true
}

// syncMap is a LocalSync of any type, as its group sees it.
type syncMap interface {
	mapName() string
	clearLocal()
	clearRemote() // cleared because another process said so (or in doubt)
	mapEpoch() uint64
	size() int
	stats() LocalSyncStats
}

func (m *LocalSync[K, V]) mapName() string  { return m.name }
func (m *LocalSync[K, V]) mapEpoch() uint64 { return m.epoch.Load() }
func (m *LocalSync[K, V]) size() int        { return m.Len() }

func (m *LocalSync[K, V]) clearLocal() {
	m.mu.Lock()
	clear(m.m)
	m.epoch.Add(1)
	m.mu.Unlock()
}

func (m *LocalSync[K, V]) clearRemote() {
	m.clearLocal()
	m.remoteClears.Add(1)
}

func (m *LocalSync[K, V]) stats() LocalSyncStats {
	return LocalSyncStats{
		Name:         m.name,
		Alias:        m.g.c.Alias(),
		Entries:      m.Len(),
		Clears:       m.clears.Load(),
		RemoteClears: m.remoteClears.Load(),
	}
}

// use returns m's epoch as of this scope's check of its group, checking
// the group first if this is the scope's first use of it.
func (sc *scope) use(ctx context.Context, g *group, m syncMap) uint64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.checked == nil { // ended meanwhile
		g.check(ctx, []syncMap{m})
		return m.mapEpoch()
	}
	if !sc.checked[g] {
		g.check(ctx, g.all())
		sc.checked[g] = true
	}
	if sc.epochs == nil {
		sc.epochs = make(map[syncMap]uint64)
	}
	e, ok := sc.epochs[m]
	if !ok {
		e = m.mapEpoch()
		sc.epochs[m] = e
	}
	return e
}

// A group is the LocalSync maps whose tokens live on one cache.
type group struct {
	c *keyedcache.Cache

	mu   sync.Mutex
	maps []syncMap
	seen map[string]string // map name → the token this process last saw

	checks, checkErrors atomic.Uint64
}

// groups are the LocalSync maps of each cache, so that a request checks
// them together. With the counter of request scopes it is this package's
// only state, as the default alias registry is the core's: maps are
// usually package-level variables, and the middleware must find them.
var groups struct {
	mu sync.Mutex
	m  map[*keyedcache.Cache]*group
}

func groupFor(c *keyedcache.Cache) *group {
	groups.mu.Lock()
	defer groups.mu.Unlock()
	if groups.m == nil {
		groups.m = make(map[*keyedcache.Cache]*group)
	}
	g := groups.m[c]
	if g == nil {
		g = &group{c: c, seen: make(map[string]string)}
		groups.m[c] = g
	}
	return g
}

func (g *group) add(m syncMap) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.maps = append(g.maps, m)
}

func (g *group) remove(m syncMap) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, x := range g.maps {
		if x == m {
			g.maps = append(g.maps[:i], g.maps[i+1:]...)
			break
		}
	}
	if len(g.maps) == 0 {
		groups.mu.Lock()
		if groups.m[g.c] == g {
			delete(groups.m, g.c)
		}
		groups.mu.Unlock()
	}
}

func (g *group) all() []syncMap {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]syncMap(nil), g.maps...)
}

// tokenKey is the backend key of a map's token: under the alias's
// prefix, and starting with '%', which no key built from parts does.
func (g *group) tokenKey(name string) string {
	return g.c.KeyPrefix() + "%localsync::" + url.QueryEscape(name)
}

// check reads the tokens of maps in one backend read and clears every map
// whose token is not the one this process last saw. A missing token is
// created; if this process had seen one, it was lost (evicted, or the
// backend emptied), and the map is cleared, since a clear may have been
// lost with it.
func (g *group) check(ctx context.Context, maps []syncMap) {
	if len(maps) == 0 {
		return
	}
	g.checks.Add(1)
	keys := make([]string, len(maps))
	for i, m := range maps {
		keys[i] = g.tokenKey(m.mapName())
	}
	tokens, err := readMany(ctx, g.c.Backend(), keys)
	if err != nil {
		g.checkErrors.Add(1)
		return // keep serving: every clear the backend took is still there to be seen
	}
	for i, m := range maps {
		tok, found := tokens[keys[i]]
		if !found {
			fresh := newToken()
			added, err := g.c.Backend().Add(ctx, keys[i], fresh, backend.NoExpiry)
			if err != nil {
				g.checkErrors.Add(1)
				continue
			}
			if !added {
				var ok bool
				if tok, ok, err = g.c.Backend().Get(ctx, keys[i]); err != nil || !ok {
					g.checkErrors.Add(1)
					continue
				}
			} else {
				tok = fresh
			}
		}
		g.saw(m, string(tok))
	}
}

// saw records tok as m's token, clearing m if this process had seen
// another one — or none yet, when m already holds entries: they were
// stored before any check succeeded, so a clear may have come and gone
// unseen.
func (g *group) saw(m syncMap, tok string) {
	g.mu.Lock()
	last, had := g.seen[m.mapName()]
	g.seen[m.mapName()] = tok
	g.mu.Unlock()
	if had && last == tok {
		return
	}
	for _, x := range g.all() {
		if x.mapName() == m.mapName() && (had || x.size() > 0) {
			x.clearRemote()
		}
	}
}

// announce gives m a new token, telling the other processes to clear.
func (g *group) announce(ctx context.Context, m syncMap) error {
	tok := newToken()
	if err := g.c.Backend().Set(ctx, g.tokenKey(m.mapName()), tok, backend.NoExpiry); err != nil {
		return fmt.Errorf("threaded: LocalSync %q: clear not shared with other processes: %w", m.mapName(), err)
	}
	g.mu.Lock()
	g.seen[m.mapName()] = string(tok)
	g.mu.Unlock()
	return nil
}

func readMany(ctx context.Context, b backend.Backend, keys []string) (map[string][]byte, error) {
	if mb, ok := b.(backend.Multi); ok {
		return mb.GetMany(ctx, keys)
	}
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		v, found, err := b.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		if found {
			out[k] = v
		}
	}
	return out, nil
}

func newToken() []byte {
	var b [12]byte
	rand.Read(b[:])
	return []byte(hex.EncodeToString(b[:]))
}
