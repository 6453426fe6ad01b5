package keyedcache

import (
	"strings"
	"sync"
)

// This file lets a package that keeps records of its own in cache entries
// (package function keeps each result with its freshness and the claim
// of the process computing it) say how a staff page should show them:
// the value inside the record, not the record.

// EntryView is what a person looking at an entry should see of a record
// kept by a package built on the cache.
type EntryView struct {
	// Value is what to show in place of the record: the value it holds
	// (a cached function's result, or the message of a cached error).
	// It is nil when HasValue is false.
	Value any
	// HasValue is false when the record holds nothing to show (a
	// computation under way).
	HasValue bool
	// Note says what the record is, in a few words and without any of
	// its content: "cached function result", "computation under way".
	Note string
}

var entryViews struct {
	mu sync.RWMutex
	m  map[string]func(c *Cache, v any) (EntryView, bool)
}

// RegisterEntryView registers how to show the entries under listed keys
// (see Inspect) whose first part is part: package function registers
// "func". fn receives the alias and the value Inspect decoded, and
// reports false for a value not in its form, which then shows as it is.
// fn must be safe for concurrent use and must not block. Registering a
// part again replaces the earlier view; a nil fn removes it.
func RegisterEntryView(part string, fn func(c *Cache, v any) (EntryView, bool)) {
	entryViews.mu.Lock()
	defer entryViews.mu.Unlock()
	if fn == nil {
		delete(entryViews.m, part)
		return
	}
	if entryViews.m == nil {
		entryViews.m = make(map[string]func(*Cache, any) (EntryView, bool))
	}
	entryViews.m[part] = fn
}

// ViewEntry returns how to show the value v that Inspect found under the
// listed key of c, and false when no view is registered for the key's
// first part or the value is not in the registered view's form.
func ViewEntry(c *Cache, key string, v any) (EntryView, bool) {
	part, _, _ := strings.Cut(key, Sep)
	entryViews.mu.RLock()
	fn := entryViews.m[part]
	entryViews.mu.RUnlock()
	if fn == nil {
		return EntryView{}, false
	}
	return fn(c, v)
}
