package threaded

import (
	"cmp"
	"slices"

	"keyedcache.dev/keyedcache"
)

// TierStats are this process's figures for the request scopes and the
// LocalSync maps. The hits each alias's tiers answered are in that
// alias's keyedcache.Stats (RequestHits, ProcessHits).
type TierStats struct {
	// Requests is the number of request caches opened (Middleware and
	// WithRequestCache; nested ones not counted).
	Requests uint64 `json:"requests"`
	// Checks is the number of LocalSync token reads, one per request
	// that used the maps of one backend (or per use outside a request);
	// CheckErrors the ones that failed.
	Checks      uint64 `json:"localsync_checks"`
	CheckErrors uint64 `json:"localsync_check_errors"`
	// LocalSync describes each map, by alias and name.
	LocalSync []LocalSyncStats `json:"localsync,omitempty"`
}

// LocalSyncStats describe one LocalSync map in this process.
type LocalSyncStats struct {
	Name         string `json:"name"`
	Alias        string `json:"alias"`         // where its token lives
	Entries      int    `json:"entries"`       // in this process
	Clears       uint64 `json:"clears"`        // Clear calls here
	RemoteClears uint64 `json:"remote_clears"` // clears seen from other processes, or for a lost token
}

// Stats returns this process's figures. They are also the "threaded"
// section of every keyedcache.Snapshot (the expvar variable and the
// staff page).
func Stats() TierStats {
	st := TierStats{Requests: scopes.Load()}
	groups.mu.Lock()
	gs := make([]*group, 0, len(groups.m))
	for _, g := range groups.m {
		gs = append(gs, g)
	}
	groups.mu.Unlock()
	for _, g := range gs {
		st.Checks += g.checks.Load()
		st.CheckErrors += g.checkErrors.Load()
		for _, m := range g.all() {
			st.LocalSync = append(st.LocalSync, m.stats())
		}
	}
	slices.SortFunc(st.LocalSync, func(a, b LocalSyncStats) int {
		return cmp.Or(cmp.Compare(a.Alias, b.Alias), cmp.Compare(a.Name, b.Name))
	})
	return st
}

func init() {
	keyedcache.RegisterStatsSource("threaded", func() any { return Stats() })
}
