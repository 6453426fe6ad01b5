package sqldb

import (
	"context"
	"database/sql"
	"math/bits"
	"strings"
	"time"
)

// Rows per statement of GetMany, SetMany and DeleteMany: well within
// every engine's limit on parameters (SQLite 32766, PostgreSQL 65535).
const (
	keysPerStatement = 256
	rowsPerStatement = 128
)

// inList writes "(p(first), …, p(first+n-1))".
func (s *Store) inList(b *strings.Builder, first, n int) {
	b.WriteByte('(')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.d.Placeholder(first + i))
	}
	b.WriteByte(')')
}

// keyArgs returns the arguments for chunk, padded with its first key to
// a power of two so that the engines see few distinct statements.
func (s *Store) keyArgs(chunk []string) []any {
	n := 1 << bits.Len(uint(len(chunk)-1))
	args := make([]any, n, n+1)
	for i := range args {
		if i < len(chunk) {
			args[i] = s.d.key(chunk[i])
		} else {
			args[i] = args[0]
		}
	}
	return args
}

// chunks calls fn with keys in slices of at most n.
func chunks(keys []string, n int, fn func([]string) error) error {
	for len(keys) > 0 {
		c := keys[:min(n, len(keys))]
		keys = keys[len(c):]
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// GetMany returns the live rows among keys, up to 256 keys per SELECT …
// WHERE key IN (…).
func (s *Store) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.rp)
	if err != nil {
		return nil, s.fail("get many", err)
	}
	defer leave()
	out := make(map[string][]byte, len(keys))
	err = s.getMany(ctx, keys, out)
	if s.retry(ctx, err) {
		err = s.getMany(ctx, keys, out)
	}
	if err != nil {
		return nil, s.fail("get many", err)
	}
	return out, nil
}

func (s *Store) getMany(ctx context.Context, keys []string, out map[string][]byte) error {
	return chunks(keys, keysPerStatement, func(c []string) error {
		args := s.keyArgs(c)
		var b strings.Builder
		b.WriteString("SELECT key, value FROM " + s.table + " WHERE key IN ")
		s.inList(&b, 1, len(args))
		b.WriteString(" AND expires > " + s.d.Placeholder(len(args)+1))
		args = append(args, time.Now().UnixNano())
		rows, err := s.rdb.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return err
		}
		return scanRows(rows, func(r *sql.Rows) error {
			var (
				k string
				v []byte
			)
			if err := r.Scan(&k, &v); err != nil {
				return err
			}
			out[k] = nonNil(v)
			return nil
		})
	})
}

// scanRows calls fn for every row and closes rows.
func scanRows(rows *sql.Rows, fn func(*sql.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SetMany stores every item with one ttl, up to 128 rows per INSERT …
// ON CONFLICT DO UPDATE. Each statement is atomic; a failure part way
// leaves the earlier statements' rows written.
func (s *Store) SetMany(ctx context.Context, items map[string][]byte, ttl time.Duration) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(items) == 0 {
		return nil
	}
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return s.fail("set many", err)
	}
	defer leave()
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	s.beforeWrite(ctx, int64(len(items)))
	err = s.setMany(ctx, keys, items, ttl)
	if s.retry(ctx, err) {
		err = s.setMany(ctx, keys, items, ttl)
	}
	return s.fail("set many", err)
}

func (s *Store) setMany(ctx context.Context, keys []string, items map[string][]byte, ttl time.Duration) error {
	exp := expiry(time.Now().UnixNano(), ttl)
	return chunks(keys, rowsPerStatement, func(c []string) error {
		var b strings.Builder
		b.WriteString("INSERT INTO " + s.table + " (key, value, expires) VALUES ")
		args := make([]any, 0, 3*len(c))
		for i, k := range c {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + s.d.Placeholder(3*i+1) + ", " + s.d.Placeholder(3*i+2) + ", " + s.d.Placeholder(3*i+3) + ")")
			args = append(args, s.d.key(k), nonNil(items[k]), exp)
		}
		b.WriteString(" ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires")
		_, err := s.wdb.ExecContext(ctx, b.String(), args...)
		return err
	})
}

// DeleteMany removes keys, up to 256 per DELETE … WHERE key IN (…), and
// returns how many live rows existed.
func (s *Store) DeleteMany(ctx context.Context, keys []string) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return 0, s.fail("delete many", err)
	}
	defer leave()
	n, err := s.deleteMany(ctx, keys)
	if s.retry(ctx, err) {
		n, err = s.deleteMany(ctx, keys)
	}
	return n, s.fail("delete many", err)
}

func (s *Store) deleteMany(ctx context.Context, keys []string) (int, error) {
	live := 0
	err := chunks(keys, keysPerStatement, func(c []string) error {
		args := s.keyArgs(c)
		var b strings.Builder
		b.WriteString("DELETE FROM " + s.table + " WHERE key IN ")
		s.inList(&b, 1, len(args))
		b.WriteString(" RETURNING expires")
		n, err := s.countLive(ctx, b.String(), args...)
		live += n
		return err
	})
	return live, err
}

// countLive runs a DELETE … RETURNING expires on the write pool and
// counts the rows it removed that had not expired.
func (s *Store) countLive(ctx context.Context, q string, args ...any) (int, error) {
	now := time.Now().UnixNano()
	rows, err := s.wdb.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	live := 0
	err = scanRows(rows, func(r *sql.Rows) error {
		var exp int64
		if err := r.Scan(&exp); err != nil {
			return err
		}
		if exp > now {
			live++
		}
		return nil
	})
	return live, err
}
