package keyedcache_test

import (
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
