package postgres_test

import (
	"context"
	"log"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/sqldb"
	_ "keyedcache.dev/keyedcache/backend/sqldb/postgres"
)

// A cache in PostgreSQL. This package's parameters (table, max_entries,
// …) and keyedcache's (timeout, key_prefix, …) are taken out of the
// URL; sslmode and application_name go to PostgreSQL.
func Example() {
	ctx := context.Background()
	url := "postgres://app@db.internal:5432/app?sslmode=verify-full&application_name=web" +
		"&table=cache&max_entries=100000&timeout=600&key_prefix=site1"

	// At deployment (optional: the first call creates the table too).
	if err := sqldb.CreateTable(ctx, url); err != nil {
		log.Fatal(err)
	}

	c, err := keyedcache.Open(url)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Set(ctx, c.Key("product", 123), "Widget")
}
