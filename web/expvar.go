package web

import (
	"expvar"

	"keyedcache.dev/keyedcache"
)

// Expvar returns an expvar.Var whose value is reg's Snapshot — every
// alias's counters and the registered sections — as JSON, read afresh
// each time it is shown. The default registry publishes itself as
// "keyedcache" already; publish a registry of one's own under another
// name:
//
//	expvar.Publish("keyedcache_jobs", web.Expvar(jobsRegistry))
func Expvar(reg *keyedcache.Registry) expvar.Var {
	return expvar.Func(func() any { return reg.Snapshot() })
}
