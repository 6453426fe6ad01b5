package redis

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strconv"
	"strings"

	"keyedcache.dev/keyedcache/backend"
)

// The URL schemes, and what each reads.
const (
	schemeRedis         = "redis"          // redis://[user:password@]host[:port][/db]
	schemeRedisTLS      = "rediss"         // the same over TLS
	schemeUnix          = "unix"           // unix://[user:password@]/path/to/redis.sock?db=N
	schemeCluster       = "redis-cluster"  // redis-cluster://[user:password@]host:port,host:port,...
	schemeClusterTLS    = "rediss-cluster" // the same over TLS
	defaultPort         = "6379"
	paramDB             = "db"
	paramPoolSize       = "pool_size"
	paramDialTimeout    = "dial_timeout"
	paramReadTimeout    = "read_timeout"
	paramWriteTimeout   = "write_timeout"
	paramTLSCA          = "tls_ca_file"
	paramTLSCert        = "tls_cert_file"
	paramTLSKey         = "tls_key_file"
	paramTLSServerName  = "tls_server_name"
	paramTLSInsecure    = "tls_insecure_skip_verify"
	reasonDBNotCluster  = "a cluster has only database 0"
	reasonBadDB         = "want a database number ≥ 0, as the path (redis://host/2) or db=2"
	reasonCertPair      = "tls_cert_file and tls_key_file go together"
	reasonNoCertsInFile = "no PEM certificate in the file"
)

var (
	dbParam      = backend.Param{Name: paramDB, Doc: "the database number, also written as the path (redis://host/2) (default 0)"}
	commonParams = []backend.Param{
		{Name: paramPoolSize, Doc: "connections to each server, 1 to 256, rounded up to a power of two; each pipelines many calls (default 4, or 1 per cluster node)"},
		{Name: paramDialTimeout, Doc: "the longest opening a connection may take, TLS and AUTH included (default 500ms)"},
		{Name: paramReadTimeout, Doc: "a connection with calls waiting and no answer for about this long (at most twice it) is closed, failing them, so a hung server never blocks callers; a context deadline ends a call sooner (default 500ms)"},
		{Name: paramWriteTimeout, Doc: "the longest writing a call to a connection, or waiting for the answer to its keep-alive PING, may take (default: read_timeout)"},
	}
	tlsParams = []backend.Param{
		{Name: paramTLSCA, Doc: "PEM file of the CAs that sign the server's certificate (default: the system's)"},
		{Name: paramTLSCert, Doc: "PEM file of a client certificate, for servers that ask for one (with tls_key_file)"},
		{Name: paramTLSKey, Doc: "PEM file of the client certificate's key (with tls_cert_file)"},
		{Name: paramTLSServerName, Doc: "the name the server's certificate must carry (default: the host of the URL)"},
		{Name: paramTLSInsecure, Doc: "true to skip verifying the server's certificate: for tests only, it gives up protection against impostors (default false)"},
	}
)

func init() {
	withDB := append([]backend.Param{dbParam}, commonParams...)
	backend.Register(schemeRedis, backend.Driver{Params: withDB, Open: Open, Validate: validate})
	backend.Register(schemeRedisTLS, backend.Driver{Params: append(withDB, tlsParams...), Open: Open, Validate: validate})
	backend.Register(schemeUnix, backend.Driver{Params: withDB, Open: Open, Validate: validate})
	backend.Register(schemeCluster, backend.Driver{Params: commonParams, Open: Open, Validate: validate})
	backend.Register(schemeClusterTLS, backend.Driver{Params: append(commonParams, tlsParams...), Open: Open, Validate: validate})
}

// Open opens a Store for a URL of one of the package's schemes (see the
// package documentation). A bad URL or parameter value returns the
// *backend.ConfigError that names it; the server is not contacted yet.
func Open(cfg backend.Config) (backend.Backend, error) {
	opts, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}
	s, err := New(opts)
	if err != nil {
		return nil, &backend.ConfigError{URL: backend.Redact(cfg.URL), Reason: err.Error()}
	}
	return s, nil
}

// validate checks a URL as Open does, without connecting and without
// reading the TLS files it names.
func validate(cfg backend.Config) error {
	opts, err := readConfig(cfg, false)
	if err != nil {
		return err
	}
	if _, err := opts.clientOption(); err != nil {
		return &backend.ConfigError{URL: backend.Redact(cfg.URL), Reason: err.Error()}
	}
	return nil
}

// parseConfig reads a URL and its parameters into Options.
func parseConfig(cfg backend.Config) (Options, error) { return readConfig(cfg, true) }

// readConfig reads a URL and its parameters into Options; with loadFiles
// false it checks the TLS parameters without reading their files.
func readConfig(cfg backend.Config, loadFiles bool) (Options, error) {
	u := cfg.URL
	var o Options
	bad := func(param, value, reason string) error {
		return &backend.ConfigError{URL: backend.Redact(u), Param: param, Value: value, Reason: reason}
	}
	if u == nil {
		return o, &backend.ConfigError{Reason: "no URL"}
	}
	if u.Opaque != "" {
		return o, bad("", "", "want "+u.Scheme+"://…, with two slashes")
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	var pathDB string
	switch u.Scheme {
	case schemeRedis, schemeRedisTLS:
		host := u.Host
		if host == "" {
			host = "localhost"
		}
		addr, err := hostPort(host)
		if err != nil {
			return o, bad("", "", err.Error())
		}
		o.Addrs = []string{addr}
		if p := strings.TrimPrefix(u.Path, "/"); p != "" {
			pathDB = p
		}
	case schemeUnix:
		if u.Host != "" || u.Path == "" || u.Path == "/" {
			return o, bad("", "", "want the socket's absolute path, as in unix:///var/run/redis.sock (three slashes)")
		}
		o.Network, o.Addrs = "unix", []string{u.Path}
	case schemeCluster, schemeClusterTLS:
		o.Cluster = true
		if u.Host == "" {
			return o, bad("", "", "want one or more nodes, each as host:port, as in redis-cluster://10.0.0.1:7000,10.0.0.2:7000")
		}
		for h := range strings.SplitSeq(u.Host, ",") {
			addr, err := hostPort(h)
			if err != nil {
				return o, bad("", "", err.Error())
			}
			o.Addrs = append(o.Addrs, addr)
		}
		if p := strings.TrimPrefix(u.Path, "/"); p != "" && p != "0" {
			return o, bad(paramDB, p, reasonDBNotCluster)
		}
	default:
		return o, bad("", "", "not a scheme of the redis backend: "+u.Scheme)
	}

	if err := readDB(cfg, &o, pathDB, bad); err != nil {
		return o, err
	}
	pool, err := cfg.Int(paramPoolSize, 0, 1)
	if err != nil {
		return o, err
	}
	if pool > MaxPoolSize {
		return o, bad(paramPoolSize, cfg.Params.Get(paramPoolSize), "want at most "+strconv.Itoa(MaxPoolSize)+" connections per server (the client's limit)")
	}
	o.PoolSize = int(pool)
	if o.DialTimeout, err = cfg.Duration(paramDialTimeout, DefaultDialTimeout); err != nil {
		return o, err
	}
	if o.ReadTimeout, err = cfg.Duration(paramReadTimeout, DefaultReadTimeout); err != nil {
		return o, err
	}
	if o.WriteTimeout, err = cfg.Duration(paramWriteTimeout, o.ReadTimeout); err != nil {
		return o, err
	}
	if u.Scheme == schemeRedisTLS || u.Scheme == schemeClusterTLS {
		if o.TLS, err = tlsConfig(cfg, bad, loadFiles); err != nil {
			return o, err
		}
	}
	return o, nil
}

// readDB reads the database number from the path or the db parameter,
// which must agree when both are given.
func readDB(cfg backend.Config, o *Options, pathDB string, bad func(param, value, reason string) error) error {
	param := cfg.Params.Get(paramDB)
	if pathDB != "" {
		n, err := strconv.Atoi(pathDB)
		if err != nil || n < 0 {
			return bad(paramDB, "/"+pathDB, reasonBadDB)
		}
		if param != "" && param != pathDB {
			return bad(paramDB, param, "the path says database "+pathDB)
		}
		o.DB = n
		return nil
	}
	n, err := cfg.Int(paramDB, 0, 0)
	if err != nil {
		return err
	}
	if n > 1<<20 {
		return bad(paramDB, param, reasonBadDB)
	}
	if o.Cluster && n != 0 {
		return bad(paramDB, param, reasonDBNotCluster)
	}
	o.DB = int(n)
	return nil
}

// hostPort returns host with the default port if it has none, or an
// error for an empty host.
func hostPort(host string) (string, error) {
	if host == "" {
		return "", errNoHost
	}
	if h, p, err := net.SplitHostPort(host); err == nil {
		if h == "" {
			return "", errNoHost
		}
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", &hostError{host}
		}
		return host, nil
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return host + ":" + defaultPort, nil
	}
	if strings.ContainsAny(host, ":[]") {
		return "", &hostError{host}
	}
	return net.JoinHostPort(host, defaultPort), nil
}

type hostError struct{ host string }

func (e *hostError) Error() string { return "not a host[:port]: " + e.host }

var errNoHost = &hostError{"(empty)"}

// tlsConfig builds the TLS configuration of a rediss URL; with loadFiles
// false it reads none of the files named, and the configuration lacks
// their certificates.
func tlsConfig(cfg backend.Config, bad func(param, value, reason string) error, loadFiles bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.Params.Get(paramTLSServerName)}
	if ca := cfg.Params.Get(paramTLSCA); ca != "" && loadFiles {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, bad(paramTLSCA, ca, err.Error())
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, bad(paramTLSCA, ca, reasonNoCertsInFile)
		}
	}
	certFile, keyFile := cfg.Params.Get(paramTLSCert), cfg.Params.Get(paramTLSKey)
	switch {
	case certFile != "" && keyFile != "" && !loadFiles:
	case certFile != "" && keyFile != "":
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, bad(paramTLSCert, certFile, err.Error())
		}
		tc.Certificates = []tls.Certificate{pair}
	case certFile != "":
		return nil, bad(paramTLSKey, "", reasonCertPair)
	case keyFile != "":
		return nil, bad(paramTLSCert, "", reasonCertPair)
	}
	insecure, err := cfg.Bool(paramTLSInsecure, false)
	if err != nil {
		return nil, err
	}
	tc.InsecureSkipVerify = insecure
	return tc, nil
}
