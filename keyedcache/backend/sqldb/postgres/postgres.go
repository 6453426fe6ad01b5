package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"keyedcache.dev/keyedcache/backend/sqldb"
)

// pingAfterIdle is how long a connection may stay idle before it is
// pinged when it is next used.
const pingAfterIdle = 30 * time.Second

// DefaultMaxConns is the size of the connection pool when
// Options.MaxConns is zero.
const DefaultMaxConns = 10

// Options configure a PostgreSQL Store.
type Options struct {
	sqldb.Options
	// Logged creates the table as an ordinary, WAL-logged table. By
	// default it is UNLOGGED: writes skip the write-ahead log, so they
	// cost less and a commit does not wait for the disk, but a crash of
	// the server empties the table and standbys do not have it — what a
	// cache can afford. It matters only when the Store creates the table.
	Logged bool
}

// Dialect returns what a sqldb.Store needs to know about PostgreSQL: $N
// parameters, a table whose bytea primary key compares bytes, whatever
// the database's collation, so that a prefix is one range of it (and
// any key, even one that is not UTF-8, can be stored), and a bytea value
// column. unlogged makes the table UNLOGGED (see Options.Logged).
func Dialect(unlogged bool) sqldb.Dialect {
	return sqldb.Dialect{
		Name:        "postgres",
		Placeholder: sqldb.DollarPlaceholder,
		Schema: func(table string) []string {
			t := sqldb.QuoteIdent(table)
			kind := "TABLE"
			if unlogged {
				kind = "UNLOGGED TABLE"
			}
			return []string{
				// Concurrent CREATE … IF NOT EXISTS can fail on a unique
				// index of the catalog; a lock per table name orders them.
				"SELECT pg_advisory_xact_lock(hashtext('keyedcache.create:" + table + "'))",
				"CREATE " + kind + " IF NOT EXISTS " + t + " (key bytea PRIMARY KEY, value bytea NOT NULL, expires bigint NOT NULL)",
				"CREATE INDEX IF NOT EXISTS " + sqldb.QuoteIdent(table+"_expires") + " ON " + t + " (expires)",
			}
		},
		Key:          func(k string) any { return []byte(k) },
		MissingTable: missingTable,
		SelfBounded:  true,
		ForUpdate:    " FOR UPDATE",
		Size: func(table string) string {
			return "SELECT COALESCE(pg_total_relation_size(to_regclass('" + sqldb.QuoteIdent(table) + "')), 0)"
		},
	}
}

// missingTable reports PostgreSQL's undefined_table error.
func missingTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

// Open opens a cache in PostgreSQL at dsn, a URL such as
// postgres://app@db.internal:5432/app?sslmode=verify-full or a
// key=value connection string, which pgx reads as libpq would
// (PGHOST, PGPASSWORD, ~/.pgpass and the other PG* variables apply).
// It does not connect: the first call does, and creates the table if it
// is missing. The connections are pooled by database/sql
// (o.MaxConns, DefaultMaxConns by default); a connection that fails is
// dropped and the next call dials again. Every read and write on a
// connection's socket has a deadline of o.QueryTimeout, and dialing one
// has connect_timeout (o.QueryTimeout when the DSN sets none), so that
// a server that stops answering never hangs a call.
func Open(dsn string, o Options) (*sqldb.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s", parseError(err))
	}
	timeout := o.QueryTimeout
	if timeout <= 0 {
		timeout = sqldb.DefaultQueryTimeout
	}
	cfg.DialFunc = dialer(timeout)
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = timeout
	}
	// pgx's stdlib pings a connection idle for over a second before it
	// reuses it; on a server that hangs, that ping and the dial that
	// replaces the connection would each take the query timeout. Only
	// connections idle for long (which firewalls and servers may have
	// dropped) are pinged.
	db := stdlib.OpenDB(*cfg, stdlib.OptionShouldPing(func(_ context.Context, p stdlib.ShouldPingParams) bool {
		return p.IdleDuration > pingAfterIdle
	}))
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	s, err := sqldb.New(db, db, Dialect(!o.Logged), o.Options)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// parseError describes a failure to parse dsn without the connection
// string, where a password may be.
func parseError(err error) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	// "cannot parse `<connection string>`: <reason>"
	full := pe.Error()
	if i := strings.Index(full, "`: "); i >= 0 {
		return "cannot parse the connection string: " + full[i+3:]
	}
	return "cannot parse the connection string"
}
