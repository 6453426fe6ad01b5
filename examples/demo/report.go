package main

import (
	"context"
	"fmt"
	"time"
)

// Report is a weather report: the value the demo caches. Its fields are
// exported so the cache's codec can encode it.
type Report struct {
	ID         int
	Place      string
	Sky        string
	TempC      int
	WindKmh    int
	ComputedAt time.Time
}

var (
	places = []string{"Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Tromsø", "Hobart", "Reykjavík"}
	skies  = []string{"sunny", "cloudy", "light rain", "fog", "snow showers", "thunderstorms"}
)

// computeReport stands in for the slow thing a cache is put in front of —
// a remote API, a database, a long calculation. It takes delay (or until
// ctx is done) and returns the same report for the same id, apart from
// when it was computed.
func computeReport(ctx context.Context, id int, delay time.Duration) (Report, error) {
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return Report{}, fmt.Errorf("computing report %d: %w", id, context.Cause(ctx))
	case <-t.C:
	}
	h := uint64(id)*0x9E3779B97F4A7C15 + 1 // a cheap, stable scramble of id
	h ^= h >> 29
	n := func(m uint64) int { r := int(h % m); h /= m; return r }
	return Report{
		ID:         id,
		Place:      places[n(uint64(len(places)))],
		Sky:        skies[n(uint64(len(skies)))],
		TempC:      n(40) - 10,
		WindKmh:    n(60),
		ComputedAt: time.Now().UTC(),
	}, nil
}
