package memory

import (
	"keyedcache.dev/keyedcache/backend"
)

// params are the URL query parameters of memory:// URLs.
var params = []backend.Param{
	{Name: "max_entries", Doc: "the most entries the store holds, a whole number ≥ 1 (default 10000, or no entry bound when max_bytes is set)"},
	{Name: "max_bytes", Doc: "the most bytes the entries take in memory (key, value and the store's own overhead each), such as 64MiB (default 0: no byte bound)"},
	{Name: "cull_frequency", Doc: "accepted for Django compatibility, a whole number ≥ 0; no effect: entries are evicted one at a time by W-TinyLFU"},
	{Name: "by_reference", Doc: "true to let the core keep Go values by reference, skipping the codec; values are then shared (default false)"},
}

func init() {
	backend.Register("memory", backend.Driver{Params: params, Open: Open, Validate: func(cfg backend.Config) error {
		_, err := options(cfg)
		return err
	}})
}

// Open opens a new, empty store for a memory:// URL; every call returns
// an independent store. A bad parameter value returns the
// *backend.ConfigError that names it.
func Open(cfg backend.Config) (backend.Backend, error) {
	o, err := options(cfg)
	if err != nil {
		return nil, err
	}
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// options reads a memory:// URL's parameters.
func options(cfg backend.Config) (Options, error) {
	maxBytes, err := cfg.Size("max_bytes", 0)
	if err != nil {
		return Options{}, err
	}
	// max_bytes alone bounds the store by bytes only: the default entry
	// bound would cap it far below what it names.
	defEntries := int64(DefaultMaxEntries)
	if maxBytes > 0 {
		defEntries = 0
	}
	maxEntries, err := cfg.Int("max_entries", defEntries, 1)
	if err != nil {
		return Options{}, err
	}
	if _, err := cfg.Int("cull_frequency", 3, 0); err != nil {
		return Options{}, err
	}
	byRef, err := cfg.Bool("by_reference", false)
	if err != nil {
		return Options{}, err
	}
	return Options{MaxEntries: int(maxEntries), MaxBytes: maxBytes, ByReference: byRef}, nil
}
