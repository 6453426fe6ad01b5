package sqldb

import (
	"context"
	"database/sql"
	"time"
)

// scanPage is the number of keys ScanKeys reads per query.
const scanPage = 1000

// upperBound returns the least string greater than every string that
// starts with prefix, in byte order, and false when there is none (a
// prefix of only 0xff bytes, or the empty prefix).
func upperBound(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// prefixRange returns the WHERE condition of the keys that start with
// prefix, as one range of the primary key (key >= prefix AND key <
// upper), its arguments, and the number of the next placeholder.
func (s *Store) prefixRange(prefix string) (cond string, args []any, next int) {
	if prefix == "" {
		return "1 = 1", nil, 1
	}
	cond = "key >= " + s.d.Placeholder(1)
	args = []any{s.d.key(prefix)}
	if hi, ok := upperBound(prefix); ok {
		cond += " AND key < " + s.d.Placeholder(2)
		args = append(args, s.d.key(hi))
	}
	return cond, args, len(args) + 1
}

// DeletePrefix removes every row whose key starts with prefix in one
// DELETE of a range of the primary key, and returns how many of them
// were live. It costs O(log n + rows removed): no other row is read.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return 0, s.fail("delete prefix", err)
	}
	defer leave()
	cond, args, _ := s.prefixRange(prefix)
	q := "DELETE FROM " + s.table + " WHERE " + cond + " RETURNING expires"
	n, err := s.countLive(ctx, q, args...)
	if s.retry(ctx, err) {
		n, err = s.countLive(ctx, q, args...)
	}
	return n, s.fail("delete prefix", err)
}

// ScanKeys calls fn with every live key that starts with prefix, in byte
// order, until fn returns false. It reads the range of the primary key
// in pages of 1000 keys, each its own query bounded by the query
// timeout, so that no connection or read transaction is held while fn
// runs; the whole scan is bounded only by ctx. A key written during the
// scan may or may not be seen; the listing is otherwise complete, so
// complete is true unless err is not nil.
func (s *Store) ScanKeys(ctx context.Context, prefix string, fn func(key string) bool) (bool, error) {
	return s.ScanKeysAfter(ctx, prefix, "", fn)
}

// ScanKeysAfter is ScanKeys from a cursor: it lists, in byte order, the
// live keys under prefix that sort after after ("" starts at the first),
// reading the table's key index a page at a time, so a page of keys
// costs a page however large the table is (backend.SortedKeyLister).
func (s *Store) ScanKeysAfter(ctx context.Context, prefix, after string, fn func(key string) bool) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	cond, args, next := s.prefixRange(prefix)
	first := "SELECT key FROM " + s.table + " WHERE " + cond +
		" AND expires > " + s.d.Placeholder(next) + " ORDER BY key LIMIT " + s.d.Placeholder(next+1)
	more := "SELECT key FROM " + s.table + " WHERE " + cond +
		" AND key > " + s.d.Placeholder(next) + " AND expires > " + s.d.Placeholder(next+1) +
		" ORDER BY key LIMIT " + s.d.Placeholder(next+2)
	var (
		page []string
		last = after
	)
	for started := after != ""; ; started = true {
		q, a := first, append(args[:len(args):len(args)], time.Now().UnixNano(), scanPage)
		if started {
			q, a = more, append(args[:len(args):len(args)], s.d.key(last), time.Now().UnixNano(), scanPage)
		}
		var err error
		page, err = s.scanPage(ctx, q, a, page[:0])
		if err != nil {
			return false, s.fail("scan keys", err)
		}
		for _, k := range page {
			if !fn(k) {
				return true, nil
			}
		}
		if len(page) < scanPage {
			return true, nil
		}
		last = page[len(page)-1]
	}
}

func (s *Store) scanPage(ctx context.Context, q string, args []any, page []string) ([]string, error) {
	ctx, leave, err := s.enter(ctx, s.rp)
	if err != nil {
		return page, err
	}
	defer leave()
	run := func() ([]string, error) {
		page = page[:0]
		rows, err := s.rdb.QueryContext(ctx, q, args...)
		if err != nil {
			return page, err
		}
		err = scanRows(rows, func(r *sql.Rows) error {
			var k string
			err := r.Scan(&k)
			page = append(page, k)
			return err
		})
		return page, err
	}
	page, err = run()
	if s.retry(ctx, err) {
		page, err = run()
	}
	return page, err
}
