package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// Touch gives a live row a new ttl in one UPDATE; it returns
// backend.ErrNotFound when there is none.
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration) error {
	if s.closed.Load() {
		return ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return s.fail("touch", err)
	}
	defer leave()
	err = s.touch(ctx, key, ttl)
	if s.retry(ctx, err) {
		err = s.touch(ctx, key, ttl)
	}
	if errors.Is(err, backend.ErrNotFound) {
		return err
	}
	return s.fail("touch", err)
}

func (s *Store) touch(ctx context.Context, key string, ttl time.Duration) error {
	st, err := s.stmt(ctx, qTouch)
	if err != nil {
		return err
	}
	now := time.Now().UnixNano()
	res, err := st.ExecContext(ctx, s.d.key(key), expiry(now, ttl), now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = backend.ErrNotFound
		}
		return err
	}
	return nil
}

// TTL returns the remaining time to live of a live row.
func (s *Store) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if s.closed.Load() {
		return 0, false, ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.rp)
	if err != nil {
		return 0, false, s.fail("ttl", err)
	}
	defer leave()
	left, found, err := s.ttl(ctx, key)
	if s.retry(ctx, err) {
		left, found, err = s.ttl(ctx, key)
	}
	return left, found, s.fail("ttl", err)
}

func (s *Store) ttl(ctx context.Context, key string) (time.Duration, bool, error) {
	st, err := s.stmt(ctx, qTTL)
	if err != nil {
		return 0, false, err
	}
	now := time.Now().UnixNano()
	var exp int64
	err = st.QueryRowContext(ctx, s.d.key(key), now).Scan(&exp)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	case exp == never:
		return backend.NoExpiry, true, nil
	}
	return time.Duration(exp - now), true, nil
}

// CompareAndSwap stores value under key for ttl only if the live row's
// value equals old, in one UPDATE.
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return false, s.fail("compare and swap", err)
	}
	defer leave()
	ok, err := s.cas(ctx, key, old, value, ttl)
	if s.retry(ctx, err) {
		ok, err = s.cas(ctx, key, old, value, ttl)
	}
	return ok, s.fail("compare and swap", err)
}

func (s *Store) cas(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	st, err := s.stmt(ctx, qCAS)
	if err != nil {
		return false, err
	}
	now := time.Now().UnixNano()
	res, err := st.ExecContext(ctx, s.d.key(key), nonNil(old), nonNil(value), expiry(now, ttl), now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Incr adds delta to the decimal integer stored under key and keeps the
// row's expiry. It reads the row and writes the sum with an UPDATE that
// matches only the value and expiry it read: two round trips. If another
// writer came between, it does it again in a transaction that locks the
// row (SELECT … FOR UPDATE; in SQLite the transaction takes the write
// lock at BEGIN), so that contended increments wait in turn instead of
// retrying. Either way it is atomic across processes. The value must be
// ASCII digits with an optional sign within int64
// (backend.ErrNotNumeric otherwise); a missing or expired row returns
// backend.ErrNotFound; a sum beyond int64 returns an error matching
// backend.ErrOverflow and leaves the value as it was.
func (s *Store) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	// Every statement of Incr, its read too, runs on the write pool, so
	// that it holds one slot of one pool: a call that held a slot of each
	// could wait for the other while a write waits for it.
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return 0, s.fail("incr", err)
	}
	defer leave()
	n, err := s.incr(ctx, key, delta)
	if s.retry(ctx, err) {
		n, err = s.incr(ctx, key, delta)
	}
	if errors.Is(err, errLost) {
		s.st.incrRetries.Add(1)
		n, err = s.incrLocked(ctx, key, delta)
	}
	if errors.Is(err, backend.ErrNotFound) || errors.Is(err, backend.ErrNotNumeric) || errors.Is(err, backend.ErrOverflow) {
		return 0, err
	}
	return n, s.fail("incr", err)
}

// errLost reports a swap that another writer overtook.
var errLost = errors.New("sqldb: another writer changed the row")

// add returns v + delta, or the contract's error.
func add(old []byte, delta int64) (int64, error) {
	v, err := strconv.ParseInt(string(old), 10, 64)
	if err != nil {
		return 0, backend.ErrNotNumeric
	}
	if delta > 0 && v > math.MaxInt64-delta || delta < 0 && v < math.MinInt64-delta {
		return 0, fmt.Errorf("%w: %d%+d", backend.ErrOverflow, v, delta)
	}
	return v + delta, nil
}

func (s *Store) incr(ctx context.Context, key string, delta int64) (int64, error) {
	read, err := s.stmt(ctx, qGetExp)
	if err != nil {
		return 0, err
	}
	swap, err := s.stmt(ctx, qSwap)
	if err != nil {
		return 0, err
	}
	k := s.d.key(key)
	var (
		old []byte
		exp int64
	)
	err = read.QueryRowContext(ctx, k, time.Now().UnixNano()).Scan(&old, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, backend.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	n, err := add(old, delta)
	if err != nil {
		return 0, err
	}
	res, err := swap.ExecContext(ctx, k, nonNil(old), strconv.AppendInt(nil, n, 10), exp)
	if err != nil {
		return 0, err
	}
	changed, err := res.RowsAffected()
	if err == nil && changed == 0 {
		err = errLost
	}
	return n, err
}

// incrLocked is Incr in a transaction that holds the row (or, in
// SQLite, the database) from the read to the commit.
func (s *Store) incrLocked(ctx context.Context, key string, delta int64) (int64, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	k := s.d.key(key)
	var old []byte
	err = tx.QueryRowContext(ctx, s.sql[qGet]+s.d.ForUpdate, k, time.Now().UnixNano()).Scan(&old)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, backend.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	n, err := add(old, delta)
	if err != nil {
		return 0, err
	}
	q := "UPDATE " + s.table + " SET value = " + s.d.Placeholder(2) + " WHERE key = " + s.d.Placeholder(1)
	if _, err := tx.ExecContext(ctx, q, k, strconv.AppendInt(nil, n, 10)); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}
