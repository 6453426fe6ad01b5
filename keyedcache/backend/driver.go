package backend

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Param documents one URL query parameter a driver reads.
type Param struct {
	Name string // as written in the URL, e.g. "max_entries"
	Doc  string // one line: what it means and its default
}

// Driver opens backends for one URL scheme.
type Driver struct {
	// Params lists the query parameters the driver reads. The core
	// rejects any other parameter that is not one of its own, naming it
	// and listing these.
	Params []Param
	// Open opens a backend for cfg. It returns a *ConfigError for a bad
	// parameter value.
	Open func(cfg Config) (Backend, error)
	// Validate, if set, checks cfg as Open would and returns the
	// *ConfigError Open would return for a bad URL or parameter, without
	// connecting, listening, starting goroutines or touching a file: what
	// only doing those can tell (a server that does not answer, a
	// directory that cannot be written, a certificate file that does not
	// parse) is left to Open. A driver without Validate gets only the
	// core's checks from keyedcache.Validate.
	Validate func(cfg Config) error
}

// Config is what a driver receives: the parsed URL and the query
// parameters meant for it (the core's own parameters already removed).
type Config struct {
	URL    *url.URL
	Params url.Values
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a driver available under a URL scheme. It panics if the
// scheme is registered twice or the driver has no Open, as
// database/sql.Register does: both are programming errors found at start.
func Register(scheme string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if d.Open == nil {
		panic("backend: Register of " + scheme + " with a nil Open")
	}
	if _, dup := drivers[scheme]; dup {
		panic("backend: Register called twice for scheme " + scheme)
	}
	drivers[scheme] = d
}

// Lookup returns the driver registered for scheme.
func Lookup(scheme string) (Driver, bool) {
	driversMu.RLock()
	defer driversMu.RUnlock()
	d, ok := drivers[scheme]
	return d, ok
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	s := make([]string, 0, len(drivers))
	for k := range drivers {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// ConfigError reports bad configuration: an unknown scheme, an unknown
// parameter or a bad value. Its message names the culprit and lists what
// is valid.
type ConfigError struct {
	URL    string   // the URL, with any password removed
	Param  string   // the parameter at fault; "" for the scheme or the URL itself
	Value  string   // the bad value, if any
	Reason string   // what is wrong
	Valid  []string // the valid choices, when there is a list
}

// Error names the URL, the parameter and its value, the reason, and the
// valid choices.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("keyedcache: ")
	if e.URL != "" {
		b.WriteString(e.URL)
		b.WriteString(": ")
	}
	if e.Param != "" {
		fmt.Fprintf(&b, "parameter %s", e.Param)
		if e.Value != "" {
			fmt.Fprintf(&b, "=%q", e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if len(e.Valid) > 0 {
		b.WriteString(" (valid: ")
		b.WriteString(strings.Join(e.Valid, ", "))
		b.WriteString(")")
	}
	return b.String()
}

// Redact returns u as a string with any password replaced by "xxxxx",
// keeping the "//" of a URL with no host ("memory://", not "memory:").
func Redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	if q := u.Query(); q.Has("password") || q.Has("sslpassword") {
		c := *u
		for _, name := range []string{"password", "sslpassword"} {
			if q.Has(name) {
				q.Set(name, "xxxxx")
			}
		}
		c.RawQuery = q.Encode()
		u = &c
	}
	s := u.Redacted()
	if u.Scheme != "" && u.Opaque == "" && !strings.HasPrefix(s, u.Scheme+"://") {
		s = u.Scheme + "://" + strings.TrimPrefix(s, u.Scheme+":")
	}
	return s
}

func (c Config) fail(name, value, reason string) error {
	return &ConfigError{URL: Redact(c.URL), Param: name, Value: value, Reason: reason}
}

// Int reads a whole-number parameter, returning def when it is absent.
// A value below min is an error that names the parameter.
func (c Config) Int(name string, def, min int64) (int64, error) {
	s := c.Params.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min {
		return 0, c.fail(name, s, fmt.Sprintf("want a whole number ≥ %d", min))
	}
	return n, nil
}

// Bool reads a true/false parameter (also 1/0, yes/no, on/off).
func (c Config) Bool(name string, def bool) (bool, error) {
	s := strings.ToLower(c.Params.Get(name))
	switch s {
	case "":
		return def, nil
	case "1", "t", "true", "yes", "on":
		return true, nil
	case "0", "f", "false", "no", "off":
		return false, nil
	}
	return false, c.fail(name, c.Params.Get(name), "want true or false")
}

// Size reads a byte count: a whole number with an optional unit
// (B, KB, MB, GB, KiB, MiB, GiB; case-insensitive).
func (c Config) Size(name string, def int64) (int64, error) {
	s := c.Params.Get(name)
	if s == "" {
		return def, nil
	}
	n, ok := ParseSize(s)
	if !ok {
		return 0, c.fail(name, s, "want a byte count such as 1048576, 64MB or 64MiB")
	}
	return n, nil
}

// Duration reads a duration: a number of seconds (fractions allowed, as
// in Django's TIMEOUT) or a Go duration such as 500ms or 1m30s. It must be
// positive.
func (c Config) Duration(name string, def time.Duration) (time.Duration, error) {
	s := c.Params.Get(name)
	if s == "" {
		return def, nil
	}
	d, ok := ParseDuration(s)
	if !ok || d <= 0 {
		return 0, c.fail(name, s, "want a positive number of seconds or a duration such as 500ms or 1m30s")
	}
	return d, nil
}

// ParseDuration reads seconds ("300", "0.25") or a Go duration ("5m").
func ParseDuration(s string) (time.Duration, bool) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f != f || f > float64(1<<62)/float64(time.Second) || f < -float64(1<<62)/float64(time.Second) {
			return 0, false
		}
		return time.Duration(f * float64(time.Second)), true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1},
}

// ParseSize reads a byte count such as "1048576", "64MB" or "64MiB".
func ParseSize(s string) (int64, bool) {
	ls := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(ls, u.suffix) {
			ls, mult = strings.TrimSpace(strings.TrimSuffix(ls, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(ls, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, false
	}
	return n * mult, true
}
