package keyedcache

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"keyedcache.dev/keyedcache/backend"
)

// Environment variables read by the default registry.
const (
	// EnvAliases configures aliases: "name=URL" pairs separated by ';'
	// or white space, e.g.
	// "default=memory://?max_entries=10000;sessions=file:///var/tmp/s".
	EnvAliases = "KEYEDCACHE_ALIASES"
	// EnvAlias chooses the alias the package-level functions use
	// (default "default"), as django-keyedcache's KEYEDCACHE_ALIAS did.
	EnvAlias = "KEYEDCACHE_ALIAS"
)

// DefaultURL is the URL of the "default" alias when nothing else is
// configured: the embedded memory backend, nothing to install.
const DefaultURL = "memory://"

// A Registry maps alias names to caches. Most programs use the default
// registry through Configure, Lookup and the package-level functions;
// a Registry of one's own is for tests and for programs that keep
// several independent sets of aliases.
type Registry struct {
	mu      sync.RWMutex
	caches  map[string]*Cache
	current string // the alias package-level functions use
	off     bool   // CacheEnable(false) was called

	cur atomic.Pointer[Cache] // the cache of current, once opened: Default's fast path
}

// NewRegistry returns an empty registry whose current alias is "default".
func NewRegistry() *Registry {
	return &Registry{caches: map[string]*Cache{}, current: "default"}
}

// Register opens rawURL and registers it as alias, closing any cache that
// alias had.
func (r *Registry) Register(alias, rawURL string, opts ...Option) (*Cache, error) {
	if alias == "" {
		return nil, &backend.ConfigError{Reason: "an alias needs a name"}
	}
	c, err := Open(rawURL, append([]Option{WithAlias(alias)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("alias %s: %w", alias, err)
	}
	r.put(alias, c)
	return c, nil
}

func (r *Registry) put(alias string, c *Cache) {
	r.mu.Lock()
	old := r.caches[alias]
	r.caches[alias] = c
	if r.off {
		c.Enable(false)
	}
	if alias == r.current {
		r.cur.Store(c)
	}
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// Configure opens every alias in aliases (name → URL) and registers them
// all, or none if any fails: the error names the alias and the problem.
func (r *Registry) Configure(aliases map[string]string, opts ...Option) error {
	opened := map[string]*Cache{}
	for _, name := range slices.Sorted(maps.Keys(aliases)) {
		c, err := Open(aliases[name], append([]Option{WithAlias(name)}, opts...)...)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			return fmt.Errorf("alias %s: %w", name, err)
		}
		opened[name] = c
	}
	for name, c := range opened {
		r.put(name, c)
	}
	return nil
}

// ConfigureFromEnv configures the aliases in KEYEDCACHE_ALIASES and the
// current alias from KEYEDCACHE_ALIAS. Unset variables change nothing.
func (r *Registry) ConfigureFromEnv() error {
	if spec := os.Getenv(EnvAliases); spec != "" {
		aliases, err := ParseAliases(spec)
		if err != nil {
			return err
		}
		if err := r.Configure(aliases); err != nil {
			return fmt.Errorf("%s: %w", EnvAliases, err)
		}
	}
	if name := os.Getenv(EnvAlias); name != "" {
		if err := r.Use(name); err != nil {
			return fmt.Errorf("%s: %w", EnvAlias, err)
		}
	}
	return nil
}

// ParseAliases reads "name=URL" pairs separated by ';' or white space.
func ParseAliases(spec string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.FieldsFunc(spec, func(r rune) bool { return r == ';' || r == ' ' || r == '\n' || r == '\t' }) {
		name, u, ok := strings.Cut(item, "=")
		if !ok || name == "" || u == "" {
			return nil, &backend.ConfigError{Value: item, Reason: "want name=URL in " + EnvAliases}
		}
		if _, dup := out[name]; dup {
			return nil, &backend.ConfigError{Value: item, Reason: "alias " + name + " given twice"}
		}
		out[name] = u
	}
	return out, nil
}

// Use makes alias the one the registry's Default returns.
func (r *Registry) Use(alias string) error {
	c, err := r.Lookup(alias)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.current = alias
	r.cur.Store(c)
	r.mu.Unlock()
	return nil
}

// ErrUnknownAlias is matched by the error Lookup returns for a name that
// is not configured.
var ErrUnknownAlias = errors.New("keyedcache: unknown alias")

// Lookup returns the cache registered as alias. An alias named "default"
// that nobody configured is opened on DefaultURL at first use.
func (r *Registry) Lookup(alias string) (*Cache, error) {
	r.mu.RLock()
	c := r.caches[alias]
	r.mu.RUnlock()
	if c != nil {
		return c, nil
	}
	if alias == "default" {
		r.mu.Lock()
		defer r.mu.Unlock()
		if c = r.caches[alias]; c == nil {
			var err error
			if c, err = Open(DefaultURL, WithAlias("default")); err != nil {
				return nil, err
			}
			c.Enable(!r.off)
			r.caches[alias] = c
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w %q (configured: %s)", ErrUnknownAlias, alias, strings.Join(r.Aliases(), ", "))
}

// Default returns the registry's current alias (see Use), opening the
// default one if needed. It panics only if that cannot be opened, which
// for the embedded memory default means the program was built without it.
func (r *Registry) Default() *Cache {
	if c := r.cur.Load(); c != nil {
		return c
	}
	r.mu.RLock()
	name := r.current
	r.mu.RUnlock()
	c, err := r.Lookup(name)
	if err != nil {
		panic(err)
	}
	r.mu.Lock()
	if name == r.current && r.caches[name] == c { // not replaced meanwhile
		r.cur.Store(c)
	}
	r.mu.Unlock()
	return c
}

// Aliases returns the registered alias names, sorted.
func (r *Registry) Aliases() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.caches))
}

// Enable turns every cache of the registry on or off, and the ones
// registered later too.
func (r *Registry) Enable(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.off = !on
	for _, c := range r.caches {
		c.Enable(on)
	}
}

// Enabled reports whether the registry's caches are on.
func (r *Registry) Enabled() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return !r.off
}

// Stats returns a snapshot of every cache's counters, sorted by alias.
func (r *Registry) Stats() []Stats {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Stats, 0, len(r.caches))
	for _, name := range slices.Sorted(maps.Keys(r.caches)) {
		out = append(out, r.caches[name].Stats())
	}
	return out
}

// Close closes every cache and empties the registry.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, c := range r.caches {
		errs = append(errs, c.Close())
	}
	clear(r.caches)
	r.cur.Store(nil)
	return errors.Join(errs...)
}

// Require checks every cache with Require, returning the first failure.
func (r *Registry) Require(ctx context.Context) error {
	for _, name := range r.Aliases() {
		c, err := r.Lookup(name)
		if err != nil {
			return err
		}
		if err := c.Require(ctx); err != nil {
			return err
		}
	}
	return nil
}

// The default registry: the one piece of package-level state, as
// http.DefaultServeMux is for net/http. It reads the environment the
// first time it is used.
var (
	defaultOnce sync.Once
	defaultReg  = NewRegistry()
	envErr      error
)

// DefaultRegistry returns the registry the package-level functions use,
// configured from the environment on first use. It panics if the
// environment holds bad configuration; call ConfigureFromEnv at start to
// get the error instead.
func DefaultRegistry() *Registry {
	if err := initDefault(); err != nil {
		panic(err)
	}
	return defaultReg
}

func initDefault() error {
	defaultOnce.Do(func() {
		envErr = defaultReg.ConfigureFromEnv()
		expvar.Publish("keyedcache", expvar.Func(func() any { return defaultReg.Snapshot() }))
	})
	return envErr
}

// ConfigureFromEnv configures the default registry from KEYEDCACHE_ALIASES
// and KEYEDCACHE_ALIAS and returns any error, so that a program can fail
// at start with a clear message.
func ConfigureFromEnv() error { return initDefault() }
