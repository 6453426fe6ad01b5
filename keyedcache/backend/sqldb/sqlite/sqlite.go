package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"keyedcache.dev/keyedcache/backend/sqldb"
)

// Dialect returns what a sqldb.Store needs to know about SQLite: ?N
// parameters, a table whose TEXT primary key compares bytes (SQLite's
// BINARY collation), so that a prefix is one range of it, and a BLOB
// value column.
func Dialect() sqldb.Dialect {
	return sqldb.Dialect{
		Name:        "sqlite",
		Placeholder: sqldb.QuestionPlaceholder,
		Schema: func(table string) []string {
			t := sqldb.QuoteIdent(table)
			return []string{
				"CREATE TABLE IF NOT EXISTS " + t + " (key TEXT NOT NULL PRIMARY KEY, value BLOB NOT NULL, expires INTEGER NOT NULL)",
				"CREATE INDEX IF NOT EXISTS " + sqldb.QuoteIdent(table+"_expires") + " ON " + t + " (expires)",
			}
		},
		SelfBounded: true,
		MissingTable: func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "no such table")
		},
		Size: func(string) string {
			return "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()"
		},
	}
}

// DefaultMaxConns is the number of read connections when
// Options.MaxConns is zero: GOMAXPROCS, at least 4.
func DefaultMaxConns() int { return max(4, runtime.GOMAXPROCS(0)) }

// Open opens a cache in the SQLite database file at path, creating the
// file and its table if they are absent (the directory must exist); a
// path that cannot hold the database is an error of Open. Reads use a pool of
// o.MaxConns connections; writes use one connection, so that the
// writers of a process queue in Go, while writers in other processes
// wait for SQLite's lock for up to o.QueryTimeout (busy_timeout).
// Every connection runs in WAL mode with synchronous=NORMAL: readers
// never block the writer, and a commit does not wait for the disk (a
// machine crash may lose the last writes, never corrupt the file).
func Open(path string, o sqldb.Options) (*sqldb.Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: no database file")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: the database file %q has a '?' in its name, which the driver reads as the start of its options", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("sqlite: the directory of the database file %s does not exist", abs)
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("sqlite: %s is a directory, not a database file", abs)
	}
	timeout := o.QueryTimeout
	if timeout <= 0 {
		timeout = sqldb.DefaultQueryTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns()
	}
	dsn := abs + "?_busy_timeout=" + strconv.FormatInt(max(1, timeout.Milliseconds()), 10) +
		"&_journal_mode=WAL&_synchronous=NORMAL"
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	read.SetMaxOpenConns(o.MaxConns)
	read.SetMaxIdleConns(o.MaxConns)
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		read.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	s, err := sqldb.New(read, write, Dialect(), o)
	if err != nil {
		read.Close()
		write.Close()
		return nil, err
	}
	if err := createAtOpen(s, timeout); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// createAtOpen makes the table (and, on a fresh file, the WAL) before the
// Store is used. Left to the first calls, a fresh file's setup raced with
// them: many first calls at once, in one process or several, could fail
// with "no such table" or "database is locked". It also makes a path
// that cannot hold a database (a file that is none, a directory that
// refuses writes) an error of Open. Other processes opening the same
// fresh file at the same moment may hold its lock for a while, and on a
// loaded machine setting up a file may outlast the query timeout: each
// try waits for the lock for the query timeout (busy_timeout) and runs
// to its end however long it takes; a busy database is tried again, for
// up to twenty query timeouts (at least 30 seconds) in all.
func createAtOpen(s *sqldb.Store, timeout time.Duration) error {
	wait := max(20*timeout, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, db := s.DB()
	schema := Dialect().Schema(s.Table())
	pause := 5 * time.Millisecond
	for {
		err := createTable(ctx, db, schema)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("sqlite: cannot set up the database file within %v: %w", wait, err)
		}
		if !busy(err) {
			return fmt.Errorf("sqlite: cannot set up the database file: %w", err)
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return fmt.Errorf("sqlite: cannot set up the database file within %v: %w", wait, err)
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// createTable runs the schema in one transaction on db.
func createTable(ctx context.Context, db *sql.DB, schema []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range schema {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// busy reports whether err is SQLite's "database is locked" (SQLITE_BUSY,
// extended codes included).
func busy(err error) bool {
	return strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")
}
