package sqldb

import (
	"context"
	"sync/atomic"
	"time"
)

// reapBatch is the number of expired rows one reaping DELETE removes, so
// that no statement holds SQLite's write lock for long.
const reapBatch = 1000

// counters are the Store's own figures, for BackendStats.
type counters struct {
	culls       atomic.Int64 // culls that removed rows
	culled      atomic.Int64 // live rows removed by culls
	reaped      atomic.Int64 // expired rows removed
	incrRetries atomic.Int64 // Incr swaps lost to another writer
	maintErrors atomic.Int64 // failed counts, culls and reaps
}

// beforeWrite is called before a write that may add n rows: every
// checkEvery of them it counts the rows and culls if the write would
// take the table past MaxEntries, in the caller's goroutine and before
// the write, as Django does, so that a lone sequential writer never
// leaves the table past the bound and the row being written survives
// the cull; and once per ReapInterval it starts a background reap.
// A failed count or cull is counted, not returned: the write goes on.
func (s *Store) beforeWrite(ctx context.Context, n int64) {
	if s.writes.Add(n) >= s.checkEvery && s.culling.CompareAndSwap(false, true) {
		s.writes.Store(0)
		cctx, cancel := s.bound(context.WithoutCancel(ctx))
		if err := s.cull(cctx, n); err != nil && !s.d.MissingTable(err) {
			s.st.maintErrors.Add(1)
		}
		cancel()
		s.culling.Store(false)
	}
	now := time.Now().UnixNano()
	if last := s.lastReap.Load(); now-last >= int64(s.o.ReapInterval) && s.lastReap.CompareAndSwap(last, now) {
		s.background(s.reap)
	}
}

// background runs f in a goroutine that Close waits for, unless the
// Store is closed.
func (s *Store) background(f func()) {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if !s.closed.Load() {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			f()
		}()
	}
}

// cull counts the rows and, if adding more would take the table past
// MaxEntries, deletes the expired ones, then, if that is not enough,
// 1/CullFrequency of the rows (at least enough to make room), those
// closest to expiry first.
func (s *Store) cull(ctx context.Context, adding int64) error {
	// On the write pool: the caller holds a slot of it, and no other.
	var n int64
	if err := s.wdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+s.table).Scan(&n); err != nil {
		return err
	}
	limit := int64(s.o.MaxEntries)
	if n+adding <= limit {
		return nil
	}
	res, err := s.wdb.ExecContext(ctx, "DELETE FROM "+s.table+" WHERE expires <= "+s.d.Placeholder(1), time.Now().UnixNano())
	if err != nil {
		return err
	}
	reaped, err := res.RowsAffected()
	if err != nil {
		return err
	}
	s.st.reaped.Add(reaped)
	if n -= reaped; n+adding <= limit {
		return nil
	}
	if s.o.CullFrequency == ClearWhenFull {
		res, err = s.wdb.ExecContext(ctx, "DELETE FROM "+s.table)
	} else {
		k := max(n/int64(s.o.CullFrequency), n+adding-limit)
		res, err = s.wdb.ExecContext(ctx, "DELETE FROM "+s.table+" WHERE key IN (SELECT key FROM "+s.table+
			" ORDER BY expires LIMIT "+s.d.Placeholder(1)+")", k)
	}
	if err != nil {
		return err
	}
	culled, err := res.RowsAffected()
	s.st.culls.Add(1)
	s.st.culled.Add(culled)
	return err
}

// reap deletes expired rows in batches until a batch finds fewer than
// reapBatch, each batch bounded by the query timeout. It runs in its own
// goroutine; Close stops it.
func (s *Store) reap() {
	q := "DELETE FROM " + s.table + " WHERE key IN (SELECT key FROM " + s.table +
		" WHERE expires <= " + s.d.Placeholder(1) + " ORDER BY expires LIMIT " + s.d.Placeholder(2) + ")"
	for {
		if _, err := s.wp.take(s.bgCtx, time.Now().Add(s.o.QueryTimeout)); err != nil {
			if s.bgCtx.Err() == nil {
				s.st.maintErrors.Add(1)
			}
			return
		}
		ctx, cancel := context.WithTimeout(s.bgCtx, s.o.QueryTimeout)
		res, err := s.wdb.ExecContext(ctx, q, time.Now().UnixNano(), reapBatch)
		cancel()
		s.wp.leave()
		var n int64
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			if !s.d.MissingTable(err) && s.bgCtx.Err() == nil {
				s.st.maintErrors.Add(1)
			}
			return
		}
		s.st.reaped.Add(n)
		if n < reapBatch {
			return
		}
	}
}

// Reap deletes every expired row now, as the background reaping does
// once per ReapInterval, and returns how many it deleted. Expired rows
// are never read (every query asks for expires > now); reaping only
// gives their space back. It costs O(log n) per expired row, through
// the index on expires.
func (s *Store) Reap(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	ctx, leave, err := s.enter(ctx, s.wp)
	if err != nil {
		return 0, s.fail("reap", err)
	}
	defer leave()
	q := "DELETE FROM " + s.table + " WHERE expires <= " + s.d.Placeholder(1)
	res, err := s.wdb.ExecContext(ctx, q, time.Now().UnixNano())
	if s.retry(ctx, err) {
		res, err = s.wdb.ExecContext(ctx, q, time.Now().UnixNano())
	}
	if err != nil {
		return 0, s.fail("reap", err)
	}
	n, err := res.RowsAffected()
	s.st.reaped.Add(n)
	return n, s.fail("reap", err)
}
