package postgres

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/sqldb"
)

// ownParams are the parameters of this package; the rest of
// passThrough go to PostgreSQL.
var ownParams = append(sqldb.Params(),
	backend.Param{Name: "unlogged", Doc: "create the table UNLOGGED: cheaper writes, emptied by a server crash, not on standbys (default true)"},
)

// passThrough are the connection parameters that go to pgx as they are,
// as libpq reads them. A password belongs in the URL's user info, in
// PGPASSWORD or in a passfile, never in a query parameter: URLs are
// logged and shown. Other server settings go through options, as in
// options=-c%20work_mem%3D64MB.
var passThrough = []backend.Param{
	{Name: "host", Doc: "PostgreSQL: host name, address or unix socket directory (libpq)"},
	{Name: "port", Doc: "PostgreSQL: port (libpq)"},
	{Name: "dbname", Doc: "PostgreSQL: database name (libpq)"},
	{Name: "user", Doc: "PostgreSQL: user name (libpq)"},
	{Name: "passfile", Doc: "PostgreSQL: password file (libpq)"},
	{Name: "connect_timeout", Doc: "PostgreSQL: seconds to wait for a connection (libpq); calls are bounded by query_timeout anyway"},
	{Name: "sslmode", Doc: "PostgreSQL: disable, allow, prefer, require, verify-ca or verify-full (libpq)"},
	{Name: "sslrootcert", Doc: "PostgreSQL: CA certificate file (libpq)"},
	{Name: "sslcert", Doc: "PostgreSQL: client certificate file (libpq)"},
	{Name: "sslkey", Doc: "PostgreSQL: client key file (libpq)"},
	{Name: "sslsni", Doc: "PostgreSQL: send SNI (libpq)"},
	{Name: "sslnegotiation", Doc: "PostgreSQL: postgres or direct (libpq)"},
	{Name: "sslcertmode", Doc: "PostgreSQL: disable, allow or require (libpq)"},
	{Name: "channel_binding", Doc: "PostgreSQL: disable, prefer or require (libpq)"},
	{Name: "require_auth", Doc: "PostgreSQL: authentication methods to accept (libpq)"},
	{Name: "target_session_attrs", Doc: "PostgreSQL: any, read-write, primary, … (libpq)"},
	{Name: "service", Doc: "PostgreSQL: service name in the service file (libpq)"},
	{Name: "servicefile", Doc: "PostgreSQL: service file (libpq)"},
	{Name: "krbsrvname", Doc: "PostgreSQL: Kerberos service name (libpq)"},
	{Name: "krbspn", Doc: "PostgreSQL: Kerberos SPN (pgx)"},
	{Name: "min_protocol_version", Doc: "PostgreSQL: least protocol version (libpq)"},
	{Name: "max_protocol_version", Doc: "PostgreSQL: greatest protocol version (libpq)"},
	{Name: "application_name", Doc: "PostgreSQL: the name the server shows for the connections"},
	{Name: "search_path", Doc: "PostgreSQL: schemas to look for the table in"},
	{Name: "options", Doc: "PostgreSQL: server settings for the session, as -c name=value"},
	{Name: "statement_cache_capacity", Doc: "pgx: prepared statements kept per connection"},
	{Name: "description_cache_capacity", Doc: "pgx: statement descriptions kept per connection"},
	{Name: "default_query_exec_mode", Doc: "pgx: cache_statement (default), cache_describe, describe_exec, exec or simple_protocol (for poolers such as PgBouncer in transaction mode)"},
}

func init() {
	d := backend.Driver{Params: append(slices.Clone(ownParams), passThrough...), Open: open, Validate: validate}
	backend.Register("postgres", d)
	backend.Register("postgresql", d)
}

// open opens a Store for a URL such as
// postgres://app@db.internal/app?sslmode=verify-full&table=cache&max_entries=100000:
// this package's parameters are taken out, the rest go to PostgreSQL.
func open(cfg backend.Config) (backend.Backend, error) {
	dsn, o, err := options(cfg)
	if err != nil {
		return nil, err
	}
	s, err := Open(dsn, o)
	if err != nil {
		return nil, configError(cfg, err)
	}
	return s, nil
}

// options splits a URL into the connection string for pgx and this
// package's Options.
func options(cfg backend.Config) (string, Options, error) {
	if cfg.URL == nil {
		return "", Options{}, &backend.ConfigError{Reason: "no URL"}
	}
	so, err := sqldb.OptionsFromConfig(cfg)
	if err != nil {
		return "", Options{}, err
	}
	unlogged, err := cfg.Bool("unlogged", true)
	if err != nil {
		return "", Options{}, err
	}
	dsn := *cfg.URL
	dsn.Fragment, dsn.RawFragment = "", ""
	q := url.Values{}
	for name, vals := range cfg.Params {
		if !slices.ContainsFunc(ownParams, func(p backend.Param) bool { return p.Name == name }) {
			q[name] = vals
		}
	}
	// pgx unescapes the query with %XX only: a space must not become +.
	dsn.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return dsn.String(), Options{Options: so, Logged: !unlogged}, nil
}

// fileParams name files pgx reads while it parses a connection string.
var fileParams = []string{"passfile", "service", "servicefile", "sslrootcert", "sslcert", "sslkey"}

// validate checks a URL as open does, without connecting: pgx parses the
// connection string without the parameters that name files to read.
func validate(cfg backend.Config) error {
	if cfg.URL == nil {
		return &backend.ConfigError{Reason: "no URL"}
	}
	pure := cfg
	pure.Params = maps.Clone(cfg.Params)
	for _, name := range fileParams {
		delete(pure.Params, name)
	}
	dsn, _, err := options(pure)
	if err != nil {
		return err
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return configError(cfg, fmt.Errorf("postgres: %s", parseError(err)))
	}
	return nil
}

// configError reports err from opening cfg's URL, any password removed.
func configError(cfg backend.Config, err error) error {
	reason := err.Error()
	if pw, ok := cfg.URL.User.Password(); ok && pw != "" {
		reason = strings.ReplaceAll(reason, pw, "xxxxx")
	}
	return &backend.ConfigError{URL: backend.Redact(cfg.URL), Reason: reason}
}
