package sqldb

import (
	"context"
	"strconv"
	"time"
)

// BackendStats returns the table's figures: rows (live and expired,
// counted in one pass over the index on expires, so O(rows)), bytes
// (what the engine reports the table takes, where it can), the
// Store's own culls, culled and reaped rows, Incr retries and failed
// maintenance, and its read pool's connections.
func (s *Store) BackendStats(ctx context.Context) (map[string]string, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	q := "SELECT COUNT(*), COALESCE(SUM(CASE WHEN expires > " + s.d.Placeholder(1) + " THEN 1 ELSE 0 END), 0) FROM " + s.table
	var rows, live int64
	err := s.rdb.QueryRowContext(ctx, q, time.Now().UnixNano()).Scan(&rows, &live)
	if s.retry(ctx, err) {
		err = s.rdb.QueryRowContext(ctx, q, time.Now().UnixNano()).Scan(&rows, &live)
	}
	if err != nil {
		return nil, s.fail("stats", err)
	}
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	pool := s.rdb.Stats()
	m := map[string]string{
		"engine":             s.d.Name,
		"table":              s.o.Table,
		"entries":            itoa(live),
		"expired_rows":       itoa(rows - live),
		"max_entries":        strconv.Itoa(s.o.MaxEntries),
		"cull_frequency":     strconv.Itoa(max(s.o.CullFrequency, 0)),
		"culls":              itoa(s.st.culls.Load()),
		"culled":             itoa(s.st.culled.Load()),
		"reaped":             itoa(s.st.reaped.Load()),
		"incr_retries":       itoa(s.st.incrRetries.Load()),
		"maintenance_errors": itoa(s.st.maintErrors.Load()),
		"open_conns":         strconv.Itoa(pool.OpenConnections),
		"in_use_conns":       strconv.Itoa(pool.InUse),
		"conn_waits":         itoa(pool.WaitCount),
	}
	if s.d.Size != nil {
		var size int64
		if err := s.rdb.QueryRowContext(ctx, s.d.Size(s.o.Table)).Scan(&size); err != nil {
			return nil, s.fail("stats", err)
		}
		m["bytes"] = itoa(size)
	}
	return m, nil
}

// Ping checks that the database answers, on both pools.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.rdb.PingContext(ctx); err != nil {
		return s.fail("ping", err)
	}
	if s.wdb != s.rdb {
		return s.fail("ping", s.wdb.PingContext(ctx))
	}
	return nil
}
