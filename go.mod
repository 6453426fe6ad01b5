module keyedcache.dev

go 1.24
