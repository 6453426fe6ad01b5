package file

import (
	"path/filepath"

	"keyedcache.dev/keyedcache/backend"
)

// params are the URL query parameters of the file scheme.
var params = []backend.Param{
	{Name: "max_entries", Doc: "entries the directory holds before a write culls it (default 10000)"},
	{Name: "max_bytes", Doc: "bytes the entry files (header + key + value each) may take before a write culls the directory, such as 64MiB; a larger single value is not stored (default 0: no byte bound)"},
	{Name: "cull_frequency", Doc: "a full directory loses 1/cull_frequency of its entries (or of its bytes, when max_bytes is what is exceeded), expired first, then those closest to expiry; 0 clears it, as in Django (default 3)"},
	{Name: "fsync", Doc: "fsync every new entry and its directory, to survive a machine crash (default false)"},
}

func init() {
	backend.Register("file", backend.Driver{Params: params, Open: open, Validate: func(cfg backend.Config) error {
		_, _, err := options(cfg)
		return err
	}})
}

// options reads a file:// URL: the directory and the parameters. It
// touches no file.
func options(cfg backend.Config) (dir string, opts Options, err error) {
	dir, err = dirOf(cfg)
	if err != nil {
		return "", Options{}, err
	}
	maxEntries, err := cfg.Int("max_entries", DefaultMaxEntries, 1)
	if err != nil {
		return "", Options{}, err
	}
	maxBytes, err := cfg.Size("max_bytes", 0)
	if err != nil {
		return "", Options{}, err
	}
	cull, err := cfg.Int("cull_frequency", DefaultCullFrequency, 0)
	if err != nil {
		return "", Options{}, err
	}
	sync, err := cfg.Bool("fsync", false)
	if err != nil {
		return "", Options{}, err
	}
	opts = Options{
		MaxEntries:    int(min(maxEntries, int64(maxInt))),
		MaxBytes:      maxBytes,
		CullFrequency: int(min(cull, int64(maxInt))),
		Sync:          sync,
	}
	if cull == 0 {
		opts.CullFrequency = ClearWhenFull
	}
	return dir, opts, nil
}

// open opens a Store for a URL such as
// file:///var/tmp/app-cache?max_entries=1000&max_bytes=64MiB&cull_frequency=3.
func open(cfg backend.Config) (backend.Backend, error) {
	dir, opts, err := options(cfg)
	if err != nil {
		return nil, err
	}
	s, err := New(dir, opts)
	if err != nil {
		return nil, &backend.ConfigError{URL: backend.Redact(cfg.URL), Reason: "the directory " + dir + " cannot be used: " + err.Error()}
	}
	return s, nil
}

const maxInt = int(^uint(0) >> 1)

// dirOf returns the directory a file URL names: its path, which must be
// absolute (file:///var/tmp/app-cache).
func dirOf(cfg backend.Config) (string, error) {
	u := cfg.URL
	fail := func(reason string) error {
		return &backend.ConfigError{URL: backend.Redact(u), Reason: reason}
	}
	switch {
	case u == nil:
		return "", fail("no URL")
	case u.Opaque != "":
		return "", fail("the path must be absolute, as in file:///var/tmp/app-cache; got the relative path " + u.Opaque)
	case u.Host != "" && u.Host != "localhost":
		return "", fail("the path must be absolute, as in file:///var/tmp/app-cache (three slashes); " +
			"got host " + u.Host + ", as from the relative path file://" + u.Host + u.Path)
	case u.Path == "":
		return "", fail("no directory: the URL needs an absolute path, as in file:///var/tmp/app-cache")
	}
	dir := filepath.FromSlash(u.Path)
	if !filepath.IsAbs(dir) {
		return "", fail("the path must be absolute, as in file:///var/tmp/app-cache; got " + u.Path)
	}
	dir = filepath.Clean(dir)
	if filepath.Dir(dir) == dir {
		return "", fail("the path is the file system's root: the cache writes its files into the directory and clears it, so give it one of its own, as in file:///var/tmp/app-cache")
	}
	return dir, nil
}
