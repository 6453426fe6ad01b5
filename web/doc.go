// Package web is the staff debug page of keyedcache: an http.Handler
// that shows, for every alias of a registry, whether its backend is
// running, its counters (calls, hits, misses, hit rate, errors) with the
// figures other packages register (per cached function, per tier) and
// the backend's own; that lists the keys — sorted, filtered by prefix, a
// page at a time, each with its size and time to live — and deletes a
// key, a key with its children, or, after a confirmation, every key of
// an alias. JSON endpoints serve the same data.
//
// Values are not shown unless the operator turns previews on
// (Options.ShowValues): caches hold session tokens and passwords. With
// previews on, the values under chosen key prefixes stay hidden
// (Options.RedactPrefixes), and an entry that a package keeps as a
// record of its own — a cached function's — shows what it holds (see
// keyedcache.RegisterEntryView).
//
// Nobody sees it unless an Authorizer says so: anonymous visitors go to
// the login URL (or get 401), logged-in users who are not staff get 403,
// as with Django's user_passes_test. BasicAuth is a ready Authorizer for
// HTTP Basic credentials from configuration. Failed logins are logged
// with the client's address and the user name tried, and a client that
// keeps failing must wait longer and longer before its credentials are
// checked again (LoginLimit).
//
// It is safe to expose behind that login: state changes only by POST,
// and cross-origin POSTs are refused (http.CrossOriginProtection); every
// key and value is escaped by html/template, and a content security
// policy lets no script run at all; the page cannot be framed, and no
// response is cached by the browser. SecureHeaders gives the rest of a
// site the same headers.
//
// Metrics for Prometheus live in the subpackage web/prometheus, so that
// the core does not depend on the Prometheus client; Expvar publishes a
// registry's stats through expvar.
package web
