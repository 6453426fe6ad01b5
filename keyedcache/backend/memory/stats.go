package memory

import (
	"context"
	"strconv"
)

// BackendStats returns the store's own figures:
//
//   - entries: the number of entries, expired ones not yet reclaimed
//     included (an estimate while writes are in flight)
//   - max_entries, max_bytes: the bounds (0: none)
//   - bytes: the bytes the entries count towards max_bytes (only with a
//     byte bound; each entry counts at least max_bytes/max_entries)
//   - evictions: entries dropped to respect a bound
//   - expirations: entries reclaimed after their deadline
//   - by_reference: whether by-reference mode is on
//
// Hits and misses are not counted here: the core counts them for every
// backend, and counting them twice would cost every read.
func (s *Store) BackendStats(context.Context) (map[string]string, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	st := map[string]string{
		"entries":      strconv.Itoa(s.c.EstimatedSize()),
		"max_entries":  strconv.Itoa(s.opts.MaxEntries),
		"max_bytes":    strconv.FormatInt(s.opts.MaxBytes, 10),
		"evictions":    strconv.FormatInt(s.evictions.Load(), 10),
		"expirations":  strconv.FormatInt(s.expirations.Load(), 10),
		"by_reference": strconv.FormatBool(s.opts.ByReference),
	}
	if s.unit > 0 {
		st["bytes"] = strconv.FormatUint(s.c.WeightedSize()*uint64(s.unit), 10)
	}
	return st, nil
}
