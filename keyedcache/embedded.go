package keyedcache

// The embedded backends need nothing installed, so every program has
// them: memory:// (the default), file:// and dummy://.
import (
	_ "keyedcache.dev/keyedcache/backend/dummy"
	_ "keyedcache.dev/keyedcache/backend/file"
	_ "keyedcache.dev/keyedcache/backend/memory"
)
