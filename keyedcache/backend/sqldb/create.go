package sqldb

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"keyedcache.dev/keyedcache/backend"
)

// coreParams are the parameters the keyedcache package reads from every
// URL (keyedcache.CommonParams, which this package cannot import): they
// say nothing about the table, and CreateTable skips them.
var coreParams = []string{"timeout", "key_prefix", "version", "codec"}

// TableCreator is implemented by backends whose store needs a table made
// before use: the SQL Stores.
type TableCreator interface {
	// CreateTable creates the table and its indexes if they are absent.
	CreateTable(ctx context.Context) error
}

// CreateTable creates the cache table that a cache URL such as
// "sqlite:///var/cache/app.db?table=pages" or
// "postgres://app@db.internal/app?table=pages" names, with its index,
// if they are absent — Django's createcachetable, for a deployment
// script or a migration. The scheme's package must be imported. A Store
// also creates its table on first use, so calling this is optional; it
// reports early a database user that may not create tables. Bad
// configuration is a *backend.ConfigError, as from keyedcache.Open.
func CreateTable(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return &backend.ConfigError{Reason: "not a URL: " + err.Error()}
	}
	d, ok := backend.Lookup(u.Scheme)
	if !ok {
		return &backend.ConfigError{URL: backend.Redact(u), Reason: fmt.Sprintf("unknown scheme %q (did you import its package?)", u.Scheme), Valid: backend.Schemes()}
	}
	own := url.Values{}
	for name, vals := range u.Query() {
		switch {
		case slices.ContainsFunc(d.Params, func(p backend.Param) bool { return p.Name == name }):
			own[name] = vals
		case slices.Contains(coreParams, name):
		default:
			valid := slices.Clone(coreParams)
			for _, p := range d.Params {
				valid = append(valid, p.Name)
			}
			return &backend.ConfigError{URL: backend.Redact(u), Param: name, Reason: "unknown parameter for " + u.Scheme + "://", Valid: valid}
		}
	}
	b, err := d.Open(backend.Config{URL: u, Params: own})
	if err != nil {
		return err
	}
	defer b.Close()
	tc, ok := b.(TableCreator)
	if !ok {
		return &backend.ConfigError{URL: backend.Redact(u), Reason: u.Scheme + ":// keeps no table to create"}
	}
	return tc.CreateTable(ctx)
}
