package memcached

import (
	"slices"
	"strings"

	"keyedcache.dev/keyedcache/backend"
)

// params are the URL query parameters of memcached:// URLs.
var params = []backend.Param{
	{Name: "namespace", Doc: "prefix of every key on the servers; Clear of an alias without key_prefix deletes the keys under it, and refuses without one (default none; at most 64 bytes)"},
	{Name: "net_timeout", Doc: "deadline of each network step (connect, request, reply): seconds or a duration such as 250ms (default 250ms)"},
	{Name: "max_idle_conns", Doc: "idle connections kept per server for the next calls; set it to the calls you expect at once (default 64)"},
	{Name: "down_retry", Doc: "how long a server that timed out or refused a connection is skipped before one call probes it again; 0 never skips (default 1s)"},
}

func init() {
	backend.Register("memcached", backend.Driver{Params: params, Open: Open, Validate: validate})
}

// Open opens a Store for a memcached:// URL:
//
//	memcached://127.0.0.1:11211
//	memcached://cache1:11211,cache2:11211,cache3:11211?net_timeout=100ms&max_idle_conns=128
//	memcached:///run/memcached/memcached.sock?namespace=app1:
//
// The host part lists the servers, separated by commas; a path instead
// names a unix socket. "host" alone means port 11211, but URL parsing
// takes what follows the last colon for a port, so give every port, or
// none. Keys are spread
// over the servers by consistent hashing of the server addresses, so
// every process must list the same servers (in any order). A bad
// parameter returns a *backend.ConfigError that names it.
func Open(cfg backend.Config) (backend.Backend, error) {
	opts, err := options(cfg)
	if err != nil {
		return nil, err
	}
	s, err := New(opts)
	if err != nil {
		if ce, ok := err.(*backend.ConfigError); ok && ce.URL == "" {
			ce.URL = backend.Redact(cfg.URL)
		}
		return nil, err
	}
	return s, nil
}

// options reads a memcached:// URL into Options.
func options(cfg backend.Config) (Options, error) {
	u := cfg.URL
	fail := func(param, value, reason string, valid ...string) error {
		return &backend.ConfigError{URL: backend.Redact(u), Param: param, Value: value, Reason: reason, Valid: valid}
	}
	if u == nil {
		return Options{}, fail("", "", "no URL")
	}
	for name := range cfg.Params {
		if !slices.ContainsFunc(params, func(p backend.Param) bool { return p.Name == name }) {
			var valid []string
			for _, p := range params {
				valid = append(valid, p.Name)
			}
			return Options{}, fail(name, "", "unknown parameter for memcached://", valid...)
		}
	}
	if u.User != nil {
		return Options{}, fail("", "", "memcached's text protocol has no authentication: remove the user name and password")
	}
	var servers []string
	path := strings.TrimSuffix(u.Path, "/")
	switch {
	case u.Opaque != "":
		return Options{}, fail("", "", "want memcached://host:port[,host:port…] or memcached:///path/to/socket")
	case u.Host != "" && path != "":
		return Options{}, fail("", "", "give servers as host:port in the host part, or one unix socket as the path, not both")
	case path != "":
		servers = []string{path}
	case u.Host != "":
		servers = strings.Split(u.Host, ",")
	default:
		return Options{}, fail("", "", "no server: want memcached://host:port[,host:port…] or memcached:///path/to/socket")
	}
	timeout, err := cfg.Duration("net_timeout", DefaultTimeout)
	if err != nil {
		return Options{}, err
	}
	idle, err := cfg.Int("max_idle_conns", DefaultMaxIdleConns, 1)
	if err != nil {
		return Options{}, err
	}
	downRetry := DefaultDownRetry
	if v := cfg.Params.Get("down_retry"); v != "" {
		d, ok := backend.ParseDuration(v)
		if !ok || d < 0 {
			return Options{}, fail("down_retry", v, "want 0, a number of seconds or a duration such as 500ms or 2s")
		}
		downRetry = d
		if d == 0 {
			downRetry = -1 // Options: negative means never skip
		}
	}
	return Options{
		Servers:      servers,
		Namespace:    cfg.Params.Get("namespace"),
		Timeout:      timeout,
		MaxIdleConns: int(min(idle, 1<<20)),
		DownRetry:    downRetry,
	}, nil
}

// validate checks a memcached:// URL as Open does, without dialling.
func validate(cfg backend.Config) error {
	opts, err := options(cfg)
	if err != nil {
		return err
	}
	if err := opts.check(); err != nil {
		if ce, ok := err.(*backend.ConfigError); ok && ce.URL == "" {
			ce.URL = backend.Redact(cfg.URL)
		}
		return err
	}
	return nil
}
