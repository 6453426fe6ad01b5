package sql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/sqldb"
	"keyedcache.dev/keyedcache/backend/sqldb/postgres"
	"keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

// A contender reads and writes one key's value in its own way.
type contender struct {
	name string
	get  func(ctx context.Context, key string) error
	set  func(ctx context.Context, key string, v []byte) error
}

// The statements every raw contender runs: what the backend runs.
const (
	rawGet = "SELECT value FROM raw WHERE key = %s AND expires > %s"
	rawSet = "INSERT INTO raw (key, value, expires) VALUES (%s, %s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
)

var errMiss = errors.New("miss")

// value is the stored value.
var value = bytes.Repeat([]byte("v"), valueSize)

// prepared returns the raw contenders on database/sql: read runs the
// SELECT, write the upsert, both prepared once, as the backend does;
// "raw-sql" with the caller's context as it is,
// "raw-sql+timeout" with a deadline of the backend's default
// query timeout on every call, as the backend gives its writes (and its
// PostgreSQL reads).
func prepared(b *testing.B, read, write *sql.DB, p func(int) string, key func(string) any) []contender {
	c := preparedOne(b, "raw-sql", read, write, p, key)
	bounded := c
	bounded.name = "raw-sql+timeout"
	bounded.get = func(ctx context.Context, k string) error {
		ctx, cancel := context.WithTimeout(ctx, sqldb.DefaultQueryTimeout)
		defer cancel()
		return c.get(ctx, k)
	}
	bounded.set = func(ctx context.Context, k string, v []byte) error {
		ctx, cancel := context.WithTimeout(ctx, sqldb.DefaultQueryTimeout)
		defer cancel()
		return c.set(ctx, k, v)
	}
	return []contender{c, bounded}
}

func preparedOne(b *testing.B, name string, read, write *sql.DB, p func(int) string, key func(string) any) contender {
	get, err := read.Prepare(fmt.Sprintf(rawGet, p(1), p(2)))
	if err != nil {
		b.Fatal(err)
	}
	set, err := write.Prepare(fmt.Sprintf(rawSet, p(1), p(2), p(3)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { get.Close(); set.Close() })
	return contender{
		name: name,
		get: func(ctx context.Context, k string) error {
			var v []byte
			err := get.QueryRowContext(ctx, key(k), time.Now().UnixNano()).Scan(&v)
			if errors.Is(err, sql.ErrNoRows) {
				return errMiss
			}
			return err
		},
		set: func(ctx context.Context, k string, v []byte) error {
			_, err := set.ExecContext(ctx, key(k), v, time.Now().Add(time.Hour).UnixNano())
			return err
		},
	}
}

// layered returns the keyedcache contender on c and the backend-only
// contender on s.
func layered(c *keyedcache.Cache, s *sqldb.Store) []contender {
	return []contender{
		{
			name: "keyedcache",
			get: func(ctx context.Context, k string) error {
				_, err := keyedcache.Get[[]byte](ctx, c, k)
				var miss *keyedcache.NotCachedError
				if errors.As(err, &miss) && miss.Err != nil {
					return miss.Err // the backend failed: the cause, such as a timeout
				}
				return err
			},
			set: func(ctx context.Context, k string, v []byte) error { return c.Set(ctx, k, v) },
		},
		{
			name: "store",
			get: func(ctx context.Context, k string) error {
				_, found, err := s.Get(ctx, k)
				if err == nil && !found {
					return errMiss
				}
				return err
			},
			set: func(ctx context.Context, k string, v []byte) error { return s.Set(ctx, k, v, time.Hour) },
		},
	}
}

// sqliteContenders opens every contender on one SQLite file: keyedcache
// on table kc, the Store and raw database/sql on table raw.
func sqliteContenders(b *testing.B) []contender {
	path := filepath.Join(b.TempDir(), "bench.db")
	c, err := keyedcache.Open("sqlite://" + path + "?table=kc&max_entries=100000&timeout=3600")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	s, err := sqlite.Open(path, sqldb.Options{Table: "raw", MaxEntries: 100000})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.CreateTable(context.Background()); err != nil {
		b.Fatal(err)
	}
	// The settings of sqlite.Open: WAL, synchronous=NORMAL, a busy
	// timeout, GOMAXPROCS (at least 4) readers and one writer.
	dsn := path + "?_busy_timeout=500&_journal_mode=WAL&_synchronous=NORMAL"
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	read.SetMaxOpenConns(sqlite.DefaultMaxConns())
	read.SetMaxIdleConns(sqlite.DefaultMaxConns())
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	write.SetMaxOpenConns(1)
	b.Cleanup(func() { read.Close(); write.Close() })
	return append(layered(c, s), prepared(b, read, write, sqldb.QuestionPlaceholder, func(k string) any { return k })...)
}

// postgresContenders opens every contender on one loopback PostgreSQL.
func postgresContenders(b *testing.B) []contender {
	pg := testserver.Postgres(b)
	c, err := keyedcache.Open(pg.DSN + "&table=kc&max_entries=100000&timeout=3600")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	s, err := postgres.Open(pg.DSN, postgres.Options{Options: sqldb.Options{Table: "raw", MaxEntries: 100000}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.CreateTable(context.Background()); err != nil {
		b.Fatal(err)
	}
	bytea := func(k string) any { return []byte(k) }
	cfg, err := pgx.ParseConfig(pg.DSN)
	if err != nil {
		b.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(postgres.DefaultMaxConns)
	db.SetMaxIdleConns(postgres.DefaultMaxConns)
	b.Cleanup(func() { db.Close() })
	pool, err := pgxpool.New(context.Background(), pg.DSN+"&pool_max_conns="+strconv.Itoa(postgres.DefaultMaxConns))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	get := fmt.Sprintf(rawGet, "$1", "$2")
	set := fmt.Sprintf(rawSet, "$1", "$2", "$3")
	return append(append(layered(c, s), prepared(b, db, db, sqldb.DollarPlaceholder, bytea)...),
		contender{
			name: "raw-pgxpool",
			get: func(ctx context.Context, k string) error {
				var v []byte
				err := pool.QueryRow(ctx, get, []byte(k), time.Now().UnixNano()).Scan(&v)
				if errors.Is(err, pgx.ErrNoRows) {
					return errMiss
				}
				return err
			},
			set: func(ctx context.Context, k string, v []byte) error {
				_, err := pool.Exec(ctx, set, []byte(k), v, time.Now().Add(time.Hour).UnixNano())
				return err
			},
		})
}

var engines = []struct {
	name string
	open func(b *testing.B) []contender
}{
	{"sqlite", sqliteContenders},
	{"postgres", postgresContenders},
}

// BenchmarkGet reads present keys (a 128-byte value each).
func BenchmarkGet(b *testing.B) {
	for _, e := range engines {
		b.Run("engine="+e.name, func(b *testing.B) {
			cs := e.open(b)
			ctx := context.Background()
			for _, c := range cs {
				if c.name == "keyedcache" || c.name == "store" {
					for i := range numKeys {
						if err := c.set(ctx, benchKey(i), value); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			for _, g := range goroutineCounts {
				for _, c := range cs {
					b.Run(fmt.Sprintf("g=%d/impl=%s", g, c.name), func(b *testing.B) {
						run(b, g, func(ctx context.Context, i int) error { return c.get(ctx, benchKey(i*7919)) })
					})
				}
			}
		})
	}
}

// BenchmarkSet overwrites keys (a 128-byte value each).
func BenchmarkSet(b *testing.B) {
	for _, e := range engines {
		b.Run("engine="+e.name, func(b *testing.B) {
			cs := e.open(b)
			for _, g := range goroutineCounts {
				for _, c := range cs {
					b.Run(fmt.Sprintf("g=%d/impl=%s", g, c.name), func(b *testing.B) {
						run(b, g, func(ctx context.Context, i int) error { return c.set(ctx, benchKey(i*7919), value) })
					})
				}
			}
		})
	}
}
