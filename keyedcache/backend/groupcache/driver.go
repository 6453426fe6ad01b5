package groupcache

import (
	"slices"
	"strings"

	"keyedcache.dev/keyedcache/backend"
)

// params are the URL query parameters of groupcache:// URLs.
var params = []backend.Param{
	{Name: "peers", Doc: "every peer's base URL (http://host:port or host:port), comma-separated, this one included, the same list in every process (default: this peer alone)"},
	{Name: "listen", Doc: "true: the node listens on the URL's host:port itself; false: mount groupcache.Handler() at base_path on your own server there (default true)"},
	{Name: "base_path", Doc: "the path the peers serve, starting and ending with / (default /_groupcache/)"},
	{Name: "namespace", Doc: "separates caches sharing the peers; Clear clears only its own: 1-64 letters, digits, _ or - (default default)"},
	{Name: "cache_bytes", Doc: "bytes each groupcache group keeps in this process, such as 64MiB (default 64MiB)"},
	{Name: "max_entries", Doc: "the most entries this process keeps as owner of Set keys, a whole number ≥ 1 (default 100000)"},
	{Name: "max_bytes", Doc: "the most bytes those entries count, such as 256MiB (default 0: no byte bound)"},
	{Name: "max_stale", Doc: "the longest a peer that missed an invalidation serves an old value; also how often copies refresh from the owner (default 1m)"},
	{Name: "peer_timeout", Doc: "timeout of each request to a peer, except fills (default 500ms)"},
	{Name: "fill_timeout", Doc: "how long to wait for the owner of a key to fill it before computing it here (default 30s)"},
}

func init() {
	backend.Register("groupcache", backend.Driver{Params: params, Open: Open, Validate: func(cfg backend.Config) error {
		_, err := optionsFrom(cfg)
		return err
	}})
}

// Open opens a Backend for a URL
//
//	groupcache://HOST:PORT?peers=http://HOST1:PORT1,http://HOST2:PORT2&…
//
// where HOST:PORT is this process's own address among the peers, or
//
//	groupcache://?peers=http://HOST1:PORT1,http://HOST2:PORT2&…
//
// for a process that uses the peers without being one. A bad
// parameter value, or one that differs from the process's node (see
// [Options]), returns the *backend.ConfigError that names it.
func Open(cfg backend.Config) (backend.Backend, error) {
	o, err := optionsFrom(cfg)
	if err != nil {
		return nil, err
	}
	b, err := New(o)
	if err != nil {
		if ce, ok := err.(*backend.ConfigError); ok {
			ce.URL = backend.Redact(cfg.URL)
		}
		return nil, err
	}
	return b, nil
}

// optionsFrom reads a groupcache:// URL into Options.
func optionsFrom(cfg backend.Config) (Options, error) {
	bad := func(param, value, reason string) (Options, error) {
		return Options{}, &backend.ConfigError{URL: backend.Redact(cfg.URL), Param: param, Value: value, Reason: reason}
	}
	var o Options
	if cfg.URL == nil {
		return bad("", "", "no URL")
	}
	if cfg.URL.Host == "" && cfg.Params.Get("peers") == "" {
		return bad("", "", "groupcache:// needs this peer's host:port, as in groupcache://127.0.0.1:8001?peers=http://127.0.0.1:8001,http://127.0.0.1:8002, or, for a client that is no peer, the peers alone: groupcache://?peers=…")
	}
	if p := cfg.URL.Path; p != "" && p != "/" {
		return bad("", p, "groupcache:// takes no path; set base_path instead")
	}
	if cfg.URL.User != nil {
		return bad("", "", "groupcache:// takes no user or password")
	}
	for name := range cfg.Params {
		if !slices.ContainsFunc(params, func(p backend.Param) bool { return p.Name == name }) {
			valid := make([]string, len(params))
			for i, p := range params {
				valid[i] = p.Name
			}
			return Options{}, &backend.ConfigError{URL: backend.Redact(cfg.URL), Param: name, Reason: "unknown parameter for groupcache://", Valid: valid}
		}
	}
	if cfg.URL.Host != "" {
		o.Self = "http://" + cfg.URL.Host
	}
	if s := cfg.Params.Get("peers"); s != "" {
		o.Peers = strings.Split(s, ",")
	}
	listen, err := cfg.Bool("listen", true)
	if err != nil {
		return o, err
	}
	o.Mount = !listen
	o.BasePath = cfg.Params.Get("base_path")
	o.Namespace = cfg.Params.Get("namespace")
	if o.CacheBytes, err = cfg.Size("cache_bytes", DefaultCacheBytes); err != nil {
		return o, err
	}
	if o.CacheBytes == 0 {
		return bad("cache_bytes", "0", "want a positive byte count")
	}
	me, err := cfg.Int("max_entries", DefaultMaxEntries, 1)
	if err != nil {
		return o, err
	}
	o.MaxEntries = int(me)
	if o.MaxBytes, err = cfg.Size("max_bytes", 0); err != nil {
		return o, err
	}
	if o.MaxStale, err = cfg.Duration("max_stale", DefaultMaxStale); err != nil {
		return o, err
	}
	if o.PeerTimeout, err = cfg.Duration("peer_timeout", DefaultPeerTimeout); err != nil {
		return o, err
	}
	if o.FillTimeout, err = cfg.Duration("fill_timeout", DefaultFillTimeout); err != nil {
		return o, err
	}
	o, err = o.withDefaults()
	if ce, ok := err.(*backend.ConfigError); ok {
		ce.URL = backend.Redact(cfg.URL)
	}
	return o, err
}
