package groupcache

import (
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// Defaults of the Options and URL parameters.
const (
	DefaultBasePath    = "/_groupcache/"
	DefaultNamespace   = "default"
	DefaultCacheBytes  = 64 << 20
	DefaultMaxEntries  = 100_000
	DefaultMaxStale    = time.Minute
	DefaultPeerTimeout = 500 * time.Millisecond
	DefaultFillTimeout = 30 * time.Second
)

// Options configure a Backend made with [New]. Every Backend of a process
// runs on the process's one node (groupcache allows one HTTP pool per
// process), so every field but Namespace and Logger must be the same in
// every New or Open of a process.
type Options struct {
	// Self is this process's base URL, "http://host:port", as the other
	// peers reach it. Empty makes this process a client of the peers: it
	// serves nothing and keeps nothing (see the package documentation).
	Self string
	// Peers are the base URLs of every peer, Self included, the same list
	// in every process. Empty means Self alone.
	Peers []string
	// Mount says the caller serves [Handler] under BasePath on its own
	// server at Self. Otherwise (the default) the node listens on Self's
	// host:port itself.
	Mount bool
	// BasePath is the path the node serves, "/_groupcache/" by default.
	BasePath string
	// Namespace separates Backends sharing the peers: Clear clears only
	// its own namespace. "default" by default.
	Namespace string
	// CacheBytes bounds the bytes each groupcache group (one for Get
	// per namespace, one per registered fill name) keeps in this process.
	CacheBytes int64
	// MaxEntries and MaxBytes bound the entries this process keeps as the
	// owner of Set keys (MaxBytes zero: no byte bound).
	MaxEntries int
	MaxBytes   int64
	// MaxStale bounds how long a peer that missed an invalidation can
	// serve a value the cluster has since replaced or deleted; it is also
	// how often copies of a key are refreshed from its owner.
	MaxStale time.Duration
	// PeerTimeout bounds each request to a peer, except fills.
	PeerTimeout time.Duration
	// FillTimeout bounds how long a process waits for the owner of a key
	// to fill it before it computes the value itself.
	FillTimeout time.Duration
	// Logger receives peer failures, once per burst (default
	// slog.Default()).
	Logger *slog.Logger
}

// withDefaults fills in the zero fields and normalises the URLs.
func (o Options) withDefaults() (Options, error) {
	client := o.Self == ""
	var self string
	if client {
		if len(o.Peers) == 0 {
			return o, &backend.ConfigError{Param: "peers", Reason: "a client (no host:port of its own) needs the peers' addresses"}
		}
	} else {
		var err error
		if self, err = normPeer(o.Self); err != nil {
			return o, &backend.ConfigError{Value: o.Self, Reason: "this peer's address (the URL's host:port) " + o.Self + ": " + err.Error()}
		}
		o.Self = self
		if len(o.Peers) == 0 {
			o.Peers = []string{self}
		}
	}
	peers := make([]string, 0, len(o.Peers))
	for _, p := range o.Peers {
		n, err := normPeer(p)
		if err != nil {
			return o, &backend.ConfigError{Param: "peers", Value: p, Reason: err.Error()}
		}
		if slices.Contains(peers, n) {
			return o, &backend.ConfigError{Param: "peers", Value: p, Reason: "listed twice"}
		}
		peers = append(peers, n)
	}
	slices.Sort(peers)
	if !client && !slices.Contains(peers, self) {
		return o, &backend.ConfigError{Param: "peers", Value: strings.Join(o.Peers, ","), Reason: "does not include this peer, " + self}
	}
	o.Peers = peers
	if o.BasePath == "" {
		o.BasePath = DefaultBasePath
	}
	if !strings.HasPrefix(o.BasePath, "/") || !strings.HasSuffix(o.BasePath, "/") || strings.ContainsAny(o.BasePath, "?# ") {
		return o, &backend.ConfigError{Param: "base_path", Value: o.BasePath, Reason: "want a path that starts and ends with /"}
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if !validName(o.Namespace) {
		return o, &backend.ConfigError{Param: "namespace", Value: o.Namespace, Reason: "want 1 to 64 letters, digits, '_' or '-'"}
	}
	if client {
		o.Mount = false
	}
	if !o.Mount && strings.HasPrefix(self, "https://") {
		return o, &backend.ConfigError{Param: "listen", Value: "true", Reason: "the node listens with plain HTTP; serve Handler on your own TLS server (Mount) for https (listen=false)"}
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"max_stale", &o.MaxStale, DefaultMaxStale}, {"peer_timeout", &o.PeerTimeout, DefaultPeerTimeout}, {"fill_timeout", &o.FillTimeout, DefaultFillTimeout}} {
		switch {
		case *f.v == 0:
			*f.v = f.def
		case *f.v < 0:
			return o, &backend.ConfigError{Param: f.name, Value: f.v.String(), Reason: "want a positive duration"}
		}
	}
	switch {
	case o.CacheBytes == 0:
		o.CacheBytes = DefaultCacheBytes
	case o.CacheBytes < 0:
		return o, &backend.ConfigError{Param: "cache_bytes", Value: fmt.Sprint(o.CacheBytes), Reason: "want a positive byte count"}
	}
	switch {
	case o.MaxEntries == 0:
		o.MaxEntries = DefaultMaxEntries
	case o.MaxEntries < 0:
		return o, &backend.ConfigError{Param: "max_entries", Value: fmt.Sprint(o.MaxEntries), Reason: "want a positive number"}
	}
	if o.MaxBytes < 0 {
		return o, &backend.ConfigError{Param: "max_bytes", Value: fmt.Sprint(o.MaxBytes), Reason: "want a byte count ≥ 0"}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// nodeFields lists the options every Backend of a process must share, as
// field name, URL parameter and value.
func (o Options) nodeFields() [][3]string {
	return [][3]string{
		{"Self", "", o.Self},
		{"Peers", "peers", strings.Join(o.Peers, ",")},
		{"Mount", "listen", fmt.Sprint(!o.Mount)},
		{"BasePath", "base_path", o.BasePath},
		{"CacheBytes", "cache_bytes", fmt.Sprint(o.CacheBytes)},
		{"MaxEntries", "max_entries", fmt.Sprint(o.MaxEntries)},
		{"MaxBytes", "max_bytes", fmt.Sprint(o.MaxBytes)},
		{"MaxStale", "max_stale", o.MaxStale.String()},
		{"PeerTimeout", "peer_timeout", o.PeerTimeout.String()},
		{"FillTimeout", "fill_timeout", o.FillTimeout.String()},
	}
}

// normPeer turns "host:port" or "http://host:port/" into
// "http://host:port".
func normPeer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty peer address")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("want an http:// or https:// base URL")
	}
	if u.Host == "" || u.Port() == "" || u.Hostname() == "" {
		return "", fmt.Errorf("want host:port")
	}
	if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %s: want a number from 1 to 65535", u.Port())
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("want scheme://host:port only, no path, query or user")
	}
	return u.Scheme + "://" + u.Host, nil
}

// validName reports whether s is a usable namespace: it becomes part of
// groupcache group names, which travel in URL paths.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
