package sqldb

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// Defaults for Options.
const (
	// DefaultTable is the name of the cache table when Options.Table is
	// empty.
	DefaultTable = "keyedcache"
	// DefaultMaxEntries is the number of rows a table holds before a
	// write culls it, when Options.MaxEntries is zero.
	DefaultMaxEntries = 10000
	// DefaultCullFrequency is the fraction (1/3) of the rows a full
	// table loses, when Options.CullFrequency is zero.
	DefaultCullFrequency = 3
	// ClearWhenFull, as Options.CullFrequency, makes a full table lose
	// every row, as Django's CULL_FREQUENCY = 0 does.
	ClearWhenFull = -1
	// DefaultQueryTimeout bounds every call when Options.QueryTimeout is
	// zero and the caller's context has no earlier deadline.
	DefaultQueryTimeout = 500 * time.Millisecond
	// DefaultReapInterval is how often a Store deletes expired rows when
	// Options.ReapInterval is zero.
	DefaultReapInterval = time.Minute
)

// maxTableLen keeps "<table>_expires", the index name, within
// PostgreSQL's 63-byte identifiers.
const maxTableLen = 55

// ErrClosed is returned by every method of a Store after Close.
var ErrClosed = backend.ClosedError("sqldb")

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Table is the cache table's name: letters, digits and underscores,
	// not starting with a digit, at most 55 bytes. Empty means
	// DefaultTable. The table is created on first use, or by
	// Store.CreateTable.
	Table string
	// MaxEntries is the number of rows the table may hold; past it a
	// write culls. Zero means DefaultMaxEntries. A Store counts the rows
	// once every max(1, MaxEntries/10) of its own writes (at most every
	// 10000), so the table may hold that many more rows per writing
	// process between counts.
	MaxEntries int
	// CullFrequency sets how much a cull removes: expired rows first,
	// then 1/CullFrequency of the rows, those closest to expiry first
	// (at least enough to get back to MaxEntries). Zero means
	// DefaultCullFrequency; ClearWhenFull removes every row.
	CullFrequency int
	// QueryTimeout bounds every call, when the caller's context has no
	// earlier deadline, so that a stopped server never hangs a caller.
	// Zero means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// ReapInterval is how often expired rows are deleted: a write finds
	// the last reap older than this and starts one in the background.
	// Zero means DefaultReapInterval.
	ReapInterval time.Duration
	// MaxConns bounds the connections of the pool that the Store's reads
	// use; the engine's package sets its own default when it is zero.
	MaxConns int
}

// withDefaults fills in zero fields and checks the table name.
func (o Options) withDefaults() (Options, error) {
	if o.Table == "" {
		o.Table = DefaultTable
	}
	if err := checkTable(o.Table); err != nil {
		return o, err
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.CullFrequency == 0 {
		o.CullFrequency = DefaultCullFrequency
	}
	if o.CullFrequency < 0 {
		o.CullFrequency = ClearWhenFull
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.ReapInterval <= 0 {
		o.ReapInterval = DefaultReapInterval
	}
	return o, nil
}

// checkTable reports a table name that is not a plain identifier.
func checkTable(name string) error {
	if name == "" {
		return errors.New("the table name is empty")
	}
	if len(name) > maxTableLen {
		return fmt.Errorf("table name %q is longer than %d bytes", name, maxTableLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return fmt.Errorf("table name %q is not letters, digits and underscores starting with a letter or underscore", name)
		}
	}
	return nil
}

// params are the URL query parameters every SQL scheme reads.
var params = []backend.Param{
	{Name: "table", Doc: "the cache table, created on first use: letters, digits and _ (default keyedcache)"},
	{Name: "max_entries", Doc: "rows the table holds before a write culls it, counted every max_entries/10 writes (default 10000)"},
	{Name: "cull_frequency", Doc: "a full table loses its expired rows, then 1/cull_frequency of its rows, closest to expiry first; 0 clears it, as in Django (default 3)"},
	{Name: "query_timeout", Doc: "bound on every call when the caller's context has none shorter: seconds or a duration such as 500ms (default 500ms)"},
	{Name: "reap_interval", Doc: "how often a write starts a background delete of expired rows: seconds or a duration (default 1m)"},
	{Name: "max_conns", Doc: "connections in the pool (SQLite: readers; one more connection writes)"},
}

// Params returns the URL query parameters that every SQL scheme reads;
// an engine's package adds its own.
func Params() []backend.Param { return slices.Clone(params) }

// OptionsFromConfig reads the parameters of Params from cfg. A bad value
// is a *backend.ConfigError that names the parameter.
func OptionsFromConfig(cfg backend.Config) (Options, error) {
	var o Options
	o.Table = cfg.Params.Get("table")
	if cfg.Params.Has("table") {
		if err := checkTable(o.Table); err != nil {
			return o, &backend.ConfigError{URL: backend.Redact(cfg.URL), Param: "table", Value: o.Table, Reason: err.Error()}
		}
	}
	n, err := cfg.Int("max_entries", DefaultMaxEntries, 1)
	if err != nil {
		return o, err
	}
	o.MaxEntries = int(min(n, 1<<40))
	cull, err := cfg.Int("cull_frequency", DefaultCullFrequency, 0)
	if err != nil {
		return o, err
	}
	o.CullFrequency = int(min(cull, 1<<40))
	if cull == 0 {
		o.CullFrequency = ClearWhenFull
	}
	if o.QueryTimeout, err = cfg.Duration("query_timeout", DefaultQueryTimeout); err != nil {
		return o, err
	}
	if o.ReapInterval, err = cfg.Duration("reap_interval", DefaultReapInterval); err != nil {
		return o, err
	}
	conns, err := cfg.Int("max_conns", 0, 1)
	if err != nil {
		return o, err
	}
	o.MaxConns = int(min(conns, 1<<20))
	return o, nil
}
