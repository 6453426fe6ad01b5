package keyedcache

import (
	"maps"
	"sync"
)

// Snapshot is everything the stats of a registry show at one moment: each
// alias's counters, and the sections added by packages built on the
// cache (per-function figures, request and process tiers, …).
type Snapshot struct {
	Caches   []Stats        `json:"caches"`
	Sections map[string]any `json:"sections,omitempty"`
}

var sources struct {
	mu  sync.RWMutex
	fns map[string]func() any
}

// RegisterStatsSource adds a named section to every Snapshot (and so to
// the expvar variable "keyedcache" and the staff page). fn is called for
// each snapshot and must be safe for concurrent use; its result should
// encode to JSON. Registering a name again replaces the earlier source;
// a nil fn removes it.
func RegisterStatsSource(name string, fn func() any) {
	sources.mu.Lock()
	defer sources.mu.Unlock()
	if fn == nil {
		delete(sources.fns, name)
		return
	}
	if sources.fns == nil {
		sources.fns = make(map[string]func() any)
	}
	sources.fns[name] = fn
}

// StatsSources returns the current value of every registered section,
// by name.
func StatsSources() map[string]any {
	sources.mu.RLock()
	fns := maps.Clone(sources.fns)
	sources.mu.RUnlock()
	out := make(map[string]any, len(fns))
	for name, fn := range fns {
		out[name] = fn()
	}
	return out
}

// Snapshot returns the stats of every alias of r with every registered
// section.
func (r *Registry) Snapshot() Snapshot {
	s := Snapshot{Caches: r.Stats()}
	if sec := StatsSources(); len(sec) > 0 {
		s.Sections = sec
	}
	return s
}
