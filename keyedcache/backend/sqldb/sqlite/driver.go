package sqlite

import (
	"net/url"
	"path/filepath"
	"strings"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/sqldb"
)

func init() {
	backend.Register("sqlite", backend.Driver{Params: sqldb.Params(), Open: open, Validate: func(cfg backend.Config) error {
		if _, err := pathOf(cfg.URL); err != nil {
			return err
		}
		_, err := sqldb.OptionsFromConfig(cfg)
		return err
	}})
}

// open opens a Store for a URL such as sqlite:///var/cache/app.db or
// sqlite://cache.db?max_entries=50000.
func open(cfg backend.Config) (backend.Backend, error) {
	path, err := pathOf(cfg.URL)
	if err != nil {
		return nil, err
	}
	o, err := sqldb.OptionsFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	s, err := Open(path, o)
	if err != nil {
		return nil, &backend.ConfigError{URL: backend.Redact(cfg.URL), Reason: err.Error()}
	}
	return s, nil
}

// pathOf returns the database file a URL names: sqlite:///abs/path.db
// (three slashes) is absolute; sqlite://name.db, sqlite://dir/name.db
// and sqlite:name.db are relative to the working directory.
func pathOf(u *url.URL) (string, error) {
	fail := func(reason string) error {
		return &backend.ConfigError{URL: backend.Redact(u), Reason: reason}
	}
	var p string
	switch {
	case u == nil:
		return "", fail("no URL")
	case u.Opaque != "":
		p = u.Opaque
	case u.User != nil:
		return "", fail("a SQLite URL takes no user or password: sqlite:///abs/path.db or sqlite://relative.db")
	default:
		p = u.Host + u.Path
	}
	switch {
	case p == "" || strings.HasSuffix(p, "/"):
		return "", fail("no database file: write sqlite:///abs/path.db or sqlite://relative.db")
	case filepath.Base(p) == ":memory:":
		return "", fail("an in-memory SQLite database is not shared between connections or processes; use memory:// for a cache in the process")
	}
	return filepath.FromSlash(p), nil
}
