package keyedcache_test

import (
	"context"
	"time"
)

// product is a typical cached value.
type product struct {
	ID      int64
	Name    string
	Price   float64
	Tags    []string
	Updated time.Time
}

// nilBackend stores nothing and never fails: for tests of key building.
type nilBackend struct{}

func (nilBackend) Get(context.Context, string) ([]byte, bool, error)        { return nil, false, nil }
func (nilBackend) Set(context.Context, string, []byte, time.Duration) error { return nil }
func (nilBackend) Add(context.Context, string, []byte, time.Duration) (bool, error) {
	return true, nil
}
func (nilBackend) Delete(context.Context, string) (bool, error) { return false, nil }
func (nilBackend) DeletePrefix(context.Context, string) (int, error) {
	return 0, nil
}
func (nilBackend) Clear(context.Context) error { return nil }
func (nilBackend) Close() error                { return nil }
