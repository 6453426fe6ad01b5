package keyedcache

import "time"

// WithPresenceEvery sets how often the cache's writers look for process
// tiers, and so how long a new tier waits before it answers (twice that):
// for tests, which cannot wait the real interval at every step. Every
// Cache of one test must use the same value, as every process must.
func WithPresenceEvery(d time.Duration) Option {
	return func(s *settings) { s.presenceEvery = d }
}
