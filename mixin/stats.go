package mixin

import "sync/atomic"

// Stats counts what a Model's Finds (and its indexes' Finds) did, since
// the Model was created.
type Stats struct {
	Model     string `json:"model"`
	Finds     uint64 `json:"finds"`     // calls of Find, the model's and its indexes'
	Hits      uint64 `json:"hits"`      // Finds answered by their first cache reads
	Loads     uint64 `json:"loads"`     // loader and resolver calls: trips to the database
	NotFound  uint64 `json:"not_found"` // Finds that returned a *NotFoundError, cached or loaded
	Shared    uint64 `json:"shared"`    // Finds that got the result of a load shared with others
	Errors    uint64 `json:"errors"`    // loader and resolver errors other than not-found, and panics
	Discarded uint64 `json:"discarded"` // loaded values taken back from the cache because the row changed meanwhile
}

type counters struct {
	finds, hits, loads, notFound, shared, errors, discarded atomic.Uint64
}

func (c *counters) snapshot(model string) Stats {
	return Stats{
		Model:     model,
		Finds:     c.finds.Load(),
		Hits:      c.hits.Load(),
		Loads:     c.loads.Load(),
		NotFound:  c.notFound.Load(),
		Shared:    c.shared.Load(),
		Errors:    c.errors.Load(),
		Discarded: c.discarded.Load(),
	}
}
