package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// never is the expires of a row that does not expire: every live-row
// test is expires > now, which it always passes.
const never = math.MaxInt64

// The prepared statements of a Store.
const (
	qGet    = iota // value of a live row
	qGetExp        // value and expires of a live row (Incr: on the write pool)
	qSet           // upsert
	qAdd           // insert, or replace an expired row
	qDelete        // delete a row, returning its expires
	qTouch         // new expires for a live row
	qCAS           // new value and expires if the live value is the old one
	qSwap          // new value if value and expires are unchanged (Incr)
	qTTL           // expires of a live row
	numStmts
)

// Store is a cache in one SQL table. It implements backend.Backend and
// the optional Multi, PrefixDeleter, Toucher, Incrementer,
// CompareAndSwapper, KeyLister, TTLReader, Statser and Pinger. It is
// safe for concurrent use by goroutines, and by other Stores and
// processes that share its table.
type Store struct {
	rdb, wdb *sql.DB // reads, writes; the same pool where the engine allows
	rp, wp   *pool   // rdb and wdb with their counts of calls (the same where rdb == wdb)
	d        Dialect
	o        Options
	table    string // quoted
	sql      [numStmts]string
	write    [numStmts]bool // the statement runs on wdb
	stmts    [numStmts]atomic.Pointer[sql.Stmt]

	checkEvery int64        // own writes between row counts
	writes     atomic.Int64 // own writes since the last count
	culling    atomic.Bool
	lastReap   atomic.Int64 // UnixNano of the last reap start

	// strictUntil (UnixNano) ends the strict mode that an error starts:
	// until then every call gets a context deadline (see enter).
	strictUntil atomic.Int64

	closed   atomic.Bool
	bgMu     sync.Mutex // orders starting background work with Close
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	closeErr error
	once     sync.Once

	st counters
}

// New makes a Store on the table o.Table of the database that read and
// write reach, speaking d. read serves Get, GetMany, TTL, ScanKeys and
// row counts; write serves everything that changes rows. They may be the
// same pool; for SQLite, a write pool of one connection lets writers of
// one process queue in Go rather than in SQLite's busy handler. New
// does not connect: the table is created on first use, or by
// CreateTable. The Store owns both pools and closes them in Close.
func New(read, write *sql.DB, d Dialect, o Options) (*Store, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	if d.Placeholder == nil || d.Schema == nil || d.MissingTable == nil {
		return nil, fmt.Errorf("%s: the dialect lacks Placeholder, Schema or MissingTable", d.Name)
	}
	s := &Store{rdb: read, wdb: write, d: d, o: o, table: QuoteIdent(o.Table)}
	s.rp = newPool(read)
	s.wp = s.rp
	if write != read {
		s.wp = newPool(write)
	}
	s.checkEvery = min(max(1, int64(o.MaxEntries)/10), 10000)
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	s.prepareSQL()
	return s, nil
}

// prepareSQL writes the text of the prepared statements.
func (s *Store) prepareSQL() {
	t, p := s.table, s.d.Placeholder
	upsert := "INSERT INTO " + t + " (key, value, expires) VALUES (" + p(1) + ", " + p(2) + ", " + p(3) + ")" +
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
	s.sql = [numStmts]string{
		qGet:    "SELECT value FROM " + t + " WHERE key = " + p(1) + " AND expires > " + p(2),
		qGetExp: "SELECT value, expires FROM " + t + " WHERE key = " + p(1) + " AND expires > " + p(2),
		qSet:    upsert,
		qAdd:    upsert + " WHERE " + t + ".expires <= " + p(4),
		qDelete: "DELETE FROM " + t + " WHERE key = " + p(1) + " RETURNING expires",
		qTouch:  "UPDATE " + t + " SET expires = " + p(2) + " WHERE key = " + p(1) + " AND expires > " + p(3),
		qCAS: "UPDATE " + t + " SET value = " + p(3) + ", expires = " + p(4) +
			" WHERE key = " + p(1) + " AND value = " + p(2) + " AND expires > " + p(5),
		qSwap: "UPDATE " + t + " SET value = " + p(3) +
			" WHERE key = " + p(1) + " AND value = " + p(2) + " AND expires = " + p(4),
		qTTL: "SELECT expires FROM " + t + " WHERE key = " + p(1) + " AND expires > " + p(2),
	}
	for _, q := range []int{qGetExp, qSet, qAdd, qDelete, qTouch, qCAS, qSwap} {
		s.write[q] = true
	}
}

// Table returns the name of the cache table.
func (s *Store) Table() string { return s.o.Table }

// Options returns the options the Store runs with, defaults filled in.
func (s *Store) Options() Options { return s.o }

// DB returns the pools the Store reads and writes with (the same pool
// twice where the engine needs only one), for tools and tests that look
// at the table directly.
func (s *Store) DB() (read, write *sql.DB) { return s.rdb, s.wdb }

// bound gives ctx the Store's query timeout unless it has an earlier
// deadline.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= s.o.QueryTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.o.QueryTimeout)
}

// stmt returns prepared statement q, preparing it on first use.
func (s *Store) stmt(ctx context.Context, q int) (*sql.Stmt, error) {
	if st := s.stmts[q].Load(); st != nil {
		return st, nil
	}
	db := s.rdb
	if s.write[q] {
		db = s.wdb
	}
	st, err := db.PrepareContext(ctx, s.sql[q])
	if err != nil {
		return nil, err
	}
	if !s.stmts[q].CompareAndSwap(nil, st) {
		st.Close()
		return s.stmts[q].Load(), nil
	}
	return st, nil
}

// retry reports whether err says the table is missing and the Store
// created it, so that the call that failed may run again.
func (s *Store) retry(ctx context.Context, err error) bool {
	if err == nil || !s.d.MissingTable(err) {
		return false
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.createTable(ctx) == nil
}

// CreateTable creates the cache table and its index on expires if they
// do not exist, as Django's createcachetable does. A Store also does it
// by itself when a call finds the table missing; calling it at
// deployment makes the first calls faster and reports a database that
// refuses (no permission to create tables, say) before any traffic.
func (s *Store) CreateTable(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.createTable(ctx)
}

func (s *Store) createTable(ctx context.Context) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.fail("create table", err)
	}
	defer tx.Rollback()
	for _, q := range s.d.Schema(s.o.Table) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return s.fail("create table", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail("create table", err)
	}
	return nil
}

// fail wraps an error of operation op.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if s.closed.Load() {
		return fmt.Errorf("%s: %s: %w (%w)", s.d.Name, op, ErrClosed, err)
	}
	s.strictUntil.Store(time.Now().Add(strictFor * s.o.QueryTimeout).UnixNano())
	return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
}

// expiry returns the expires of a row written at now for ttl.
func expiry(now int64, ttl time.Duration) int64 {
	if ttl <= 0 || int64(ttl) >= never-now {
		return never
	}
	return now + int64(ttl)
}

// nonNil makes a nil value an empty one: the value column is NOT NULL.
func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

// Get returns the value of a live row.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if s.closed.Load() {
		return nil, false, ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.rp)
	if err != nil {
		return nil, false, s.fail("get", err)
	}
	defer leave()
	v, found, err := s.get(ctx, key)
	if s.retry(ctx, err) {
		v, found, err = s.get(ctx, key)
	}
	return v, found, s.fail("get", err)
}

func (s *Store) get(ctx context.Context, key string) ([]byte, bool, error) {
	st, err := s.stmt(ctx, qGet)
	if err != nil {
		return nil, false, err
	}
	var v []byte
	err = st.QueryRowContext(ctx, s.d.key(key), time.Now().UnixNano()).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return nonNil(v), true, nil
}

// Set stores value under key for ttl, replacing any row.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if s.closed.Load() {
		return ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return s.fail("set", err)
	}
	defer leave()
	s.beforeWrite(ctx, 1)
	err = s.set(ctx, key, value, ttl)
	if s.retry(ctx, err) {
		err = s.set(ctx, key, value, ttl)
	}
	return s.fail("set", err)
}

func (s *Store) set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	st, err := s.stmt(ctx, qSet)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, s.d.key(key), nonNil(value), expiry(time.Now().UnixNano(), ttl))
	return err
}

// Add stores value under key only if no live row exists, in one
// statement (INSERT … ON CONFLICT DO UPDATE … WHERE the row has
// expired), so that it is atomic across processes.
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return false, s.fail("add", err)
	}
	defer leave()
	s.beforeWrite(ctx, 1)
	added, err := s.add(ctx, key, value, ttl)
	if s.retry(ctx, err) {
		added, err = s.add(ctx, key, value, ttl)
	}
	return added, s.fail("add", err)
}

func (s *Store) add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	st, err := s.stmt(ctx, qAdd)
	if err != nil {
		return false, err
	}
	now := time.Now().UnixNano()
	res, err := st.ExecContext(ctx, s.d.key(key), nonNil(value), expiry(now, ttl), now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Delete removes key and reports whether a live row existed. An expired
// row is removed too.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return false, s.fail("delete", err)
	}
	defer leave()
	existed, err := s.delete(ctx, key)
	if s.retry(ctx, err) {
		existed, err = s.delete(ctx, key)
	}
	return existed, s.fail("delete", err)
}

func (s *Store) delete(ctx context.Context, key string) (bool, error) {
	st, err := s.stmt(ctx, qDelete)
	if err != nil {
		return false, err
	}
	now := time.Now().UnixNano()
	var exp int64
	err = st.QueryRowContext(ctx, s.d.key(key)).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil && exp > now, err
}

// Clear deletes every row of the table. Other tables in the database are
// not touched.
func (s *Store) Clear(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return s.fail("clear", err)
	}
	defer leave()
	q := "DELETE FROM " + s.table
	_, err = s.wdb.ExecContext(ctx, q)
	if s.retry(ctx, err) {
		_, err = s.wdb.ExecContext(ctx, q)
	}
	if err == nil {
		s.writes.Store(0)
	}
	return s.fail("clear", err)
}

// Close stops the background reaping, waits for it, and closes the
// pools. Calls after Close return ErrClosed.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.bgMu.Lock()
		s.closed.Store(true)
		s.bgMu.Unlock()
		s.bgCancel()
		s.bg.Wait()
		for i := range s.stmts {
			if st := s.stmts[i].Load(); st != nil {
				st.Close()
			}
		}
		s.closeErr = s.rdb.Close()
		if s.wdb != s.rdb {
			s.closeErr = errors.Join(s.closeErr, s.wdb.Close())
		}
	})
	return s.closeErr
}
