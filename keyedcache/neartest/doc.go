// Package neartest holds the tests of keyedcache's process tier (the near
// cache) that need real servers of every shared backend, and several
// processes: a writer without a tier and a reader with one, on redis,
// Redis Cluster, memcached, files, SQLite, PostgreSQL and groupcache. It
// has no API. The tests live apart from package keyedcache's own, so that
// the backends they register stay out of that package's tests.
//
//	go test ./keyedcache/neartest/
//	go test -run='^$' -bench=NearSetCost -count=10 ./keyedcache/neartest/
package neartest
