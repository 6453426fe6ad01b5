package sqldb

import "strconv"

// A Dialect is what a Store needs to know about one SQL engine: how it
// writes parameters, how it creates the cache table, which Go type its
// key column takes and how it reports a missing table. The sqlite and
// postgres subpackages provide one each; a Store builds every statement
// from it once, when it is made.
//
// Besides what the Dialect says, a Store relies on SQL that both engines
// share: INSERT … ON CONFLICT (key) DO UPDATE … WHERE, DELETE …
// RETURNING, LIMIT, and subqueries in DELETE.
type Dialect struct {
	// Name names the engine in errors and stats, such as "sqlite".
	Name string
	// Placeholder returns the text of the n-th (1-based) statement
	// parameter, such as "$1" or "?1".
	Placeholder func(n int) string
	// Schema returns the statements that create the table (columns key,
	// value and expires) and an index on expires, each a no-op when it
	// exists. They run in order in one transaction on the write pool.
	// The key column must sort in byte order (SQLite's BINARY collation,
	// PostgreSQL's bytea or COLLATE "C"), so that a prefix is one range
	// of the primary key.
	Schema func(table string) []string
	// Key converts a key to the argument its key column takes (a string
	// for TEXT, a []byte for bytea). Nil means the key is passed as is.
	Key func(key string) any
	// MissingTable reports whether err says the table does not exist.
	MissingTable func(err error) bool
	// ForUpdate is appended to the SELECT that Incr runs in a
	// transaction when its optimistic swap lost to another writer, to
	// lock the row: " FOR UPDATE" for PostgreSQL; "" for SQLite, whose
	// write pool begins transactions IMMEDIATE (taking the write lock).
	ForUpdate string
	// SelfBounded says that every statement ends by itself within
	// about the query timeout: SQLite's by its busy timeout (the only
	// wait of a statement on a local file is for another writer's
	// lock), PostgreSQL's by a deadline on every read and write of the
	// connection's socket and a connect timeout. Every call takes one of
	// its pool's slots (one per connection) before it runs, waiting at
	// most the query timeout for one, so it never waits for a
	// connection inside database/sql; with SelfBounded, a call whose
	// context cannot be cancelled then runs with it as it is, and needs
	// no context deadline of its own (unless a call failed lately: see
	// the package documentation). That saves what a cancellable
	// context costs database/sql and the drivers, a goroutine or two per
	// query: as much as a SQLite read, and a third of a PostgreSQL one
	// on loopback.
	SelfBounded bool
	// Size, if not nil, returns a query of one integer: the bytes the
	// table takes in the database (table, indexes, free pages), for
	// BackendStats.
	Size func(table string) string
}

// DollarPlaceholder writes the n-th parameter as $n (PostgreSQL).
func DollarPlaceholder(n int) string { return "$" + strconv.Itoa(n) }

// QuestionPlaceholder writes the n-th parameter as ?n (SQLite).
func QuestionPlaceholder(n int) string { return "?" + strconv.Itoa(n) }

// QuoteIdent quotes an identifier with double quotes, doubling any
// double quote inside it, as SQL does.
func QuoteIdent(name string) string {
	b := make([]byte, 0, len(name)+2)
	b = append(b, '"')
	for i := 0; i < len(name); i++ {
		if name[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, name[i])
	}
	return string(append(b, '"'))
}

// key converts a key to its column's argument type.
func (d *Dialect) key(k string) any {
	if d.Key == nil {
		return k
	}
	return d.Key(k)
}
