package web

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"keyedcache.dev/keyedcache"
)

// Options configures the staff page. Only Auth is required: without it
// every request is denied.
type Options struct {
	// Registry holds the aliases the page shows; nil means
	// keyedcache.DefaultRegistry() (which panics on a bad environment:
	// call keyedcache.ConfigureFromEnv first to get the error).
	Registry *keyedcache.Registry
	// Auth decides who may see the page. Nil denies every request (403),
	// so that a page mounted by mistake shows nothing.
	Auth Authorizer
	// LoginURL is where an anonymous browser is sent, with the page it
	// asked for in the "next" query parameter, as Django's
	// login_required does. Empty: anonymous requests get 401 (with a
	// WWW-Authenticate challenge when Auth is a Challenger). JSON
	// endpoints always get 401, never a redirect.
	LoginURL string
	// PageSize is the number of keys on a page (default 50, at most
	// 1000; a request may ask for up to 1000 with limit=). Every key on
	// a page is read for its preview.
	PageSize int
	// Timeout bounds each backend call the page makes (default 3s), so
	// that a backend that hangs shows as down instead of hanging the page.
	Timeout time.Duration
	// Logger records every deletion with the user who made it, and
	// every failed login with the client's address and the user name
	// tried — never the password (default slog.Default()).
	Logger *slog.Logger

	// ShowValues turns on the previews of cached values: on the list of
	// keys, on a key's page, and in the JSON endpoints (preview and
	// value). Off, the default, the page shows every key with its size
	// and time to live but no byte of any value: caches hold session
	// tokens, passwords and personal data, and whoever is staff would
	// read them. Why a value cannot be decoded still shows.
	ShowValues bool
	// RedactPrefixes hides the values of the keys that start with any
	// of these prefixes, even with ShowValues: "session::", "user::".
	// Keys are as the page lists them (without the alias's key prefix);
	// the prefixes apply to every alias.
	RedactPrefixes []string

	// LoginLimit slows down the guessing of passwords, client by client;
	// the zero value takes the defaults described on LoginLimit.
	LoginLimit LoginLimit
	// TrustedProxies are the networks of the reverse proxies in front of
	// the page, whose X-Forwarded-For header names the client for
	// LoginLimit and the log. Empty, the default, the client is the
	// address the connection comes from, and X-Forwarded-For is ignored:
	// anyone can write that header.
	TrustedProxies []netip.Prefix
}

// Handler is the staff page. It serves paths relative to where it is
// mounted, so mount it under a prefix with http.StripPrefix:
//
//	mux.Handle("/cache/", http.StripPrefix("/cache", web.New(opts)))
//
// Every link and form on the page is relative, so any prefix works.
//
// Routes (GET unless marked):
//
//	/              stats of the chosen alias (?alias=), its keys (?prefix=, ?after=, ?limit=)
//	/key           one key: preview, size, TTL, delete buttons (?alias=, ?key=)
//	/clear         the confirmation before deleting every key of an alias
//	/delete        POST: delete a key (alias, key, children=1 for its children too)
//	/clear         POST: delete every key of an alias (alias, confirm=the alias's name)
//	/api/stats     the stats of every alias and the registered sections, as JSON
//	/api/keys      a page of keys, as JSON (same parameters as /)
//	/api/key       one key, as JSON
//	/api/delete    POST: as /delete, answering JSON
//	/api/clear     POST: as /clear, answering JSON
type Handler struct {
	opts Options
	reg  *keyedcache.Registry
	log  *slog.Logger
	mux  *http.ServeMux
	lim  *limiter
	root http.Handler
}

// New returns the staff page for opts.
func New(opts Options) *Handler {
	if opts.PageSize <= 0 {
		opts.PageSize = 50
	}
	opts.PageSize = min(opts.PageSize, maxLimit)
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	h := &Handler{opts: opts, reg: opts.Registry, log: opts.Logger, mux: http.NewServeMux(), lim: newLimiter(opts.LoginLimit)}
	if h.reg == nil {
		h.reg = keyedcache.DefaultRegistry()
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.mux.HandleFunc("GET /{$}", h.servePage)
	h.mux.HandleFunc("GET /key", h.serveKey)
	h.mux.HandleFunc("GET /clear", h.serveClearConfirm)
	h.mux.HandleFunc("POST /delete", h.serveDelete)
	h.mux.HandleFunc("POST /clear", h.serveClear)
	h.mux.HandleFunc("GET /style.css", serveStyle)
	h.mux.HandleFunc("GET /api/stats", h.apiStats)
	h.mux.HandleFunc("GET /api/keys", h.apiKeys)
	h.mux.HandleFunc("GET /api/key", h.apiKey)
	h.mux.HandleFunc("POST /api/delete", h.apiDelete)
	h.mux.HandleFunc("POST /api/clear", h.apiClear)

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused: state changes must come from this page", http.StatusForbidden)
	}))
	h.root = SecureHeaders(csrf.Handler(http.HandlerFunc(h.authorize)))
	return h
}

// ServeHTTP serves the page. Every response, errors and redirects
// included, carries the headers of SecureHeaders.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.root.ServeHTTP(w, r)
}

// authorize lets staff through to the routes and turns everyone else
// away: anonymous to the login URL (or 401), others 403, and a client
// that failed to log in too often 429 until its wait is over.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	if h.opts.Auth == nil {
		http.Error(w, "the staff page has no Authorizer configured: every request is denied", http.StatusForbidden)
		return
	}
	api := strings.HasPrefix(r.URL.Path, "/api/")
	id := h.clientID(r)
	turn, wait, err := h.lim.enter(r.Context(), id)
	switch {
	case err != nil:
		return // the client went away while waiting its turn
	case wait > 0:
		tooMany(w, wait, api)
		return
	}
	user, access := h.check(r, id, turn)
	switch access {
	case Staff:
		h.mux.ServeHTTP(w, r.WithContext(withUser(r.Context(), user)))
	case Forbidden:
		if api {
			writeJSONError(w, http.StatusForbidden, "staff only")
			return
		}
		http.Error(w, "staff only: "+user+" may not see this page", http.StatusForbidden)
	default:
		if h.opts.LoginURL != "" && !api {
			w.Header().Set("Location", loginRedirect(h.opts.LoginURL, r))
			w.WriteHeader(http.StatusFound)
			return
		}
		if c, ok := h.opts.Auth.(Challenger); ok {
			w.Header().Set("WWW-Authenticate", c.Challenge())
		}
		if api {
			writeJSONError(w, http.StatusUnauthorized, "log in first")
			return
		}
		http.Error(w, "log in first", http.StatusUnauthorized)
	}
}

// check asks the Authorizer about a request whose client has its turn,
// ends the turn (even if the Authorizer panics), and logs a failure.
func (h *Handler) check(r *http.Request, id string, turn *client) (user string, access Access) {
	defer func() {
		f := h.lim.leave(turn, access == BadCredentials)
		if f.failures > 0 {
			h.log.Warn("keyedcache staff page: failed login", "client", id, "remote_addr", r.RemoteAddr,
				"user", truncate(user, 64), "failures", f.failures, "wait", f.wait, "refused_meanwhile", f.refused)
		}
	}()
	return h.opts.Auth.Authorize(r)
}

// tooMany answers a client that must wait before its next login.
func tooMany(w http.ResponseWriter, wait time.Duration, api bool) {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	msg := fmt.Sprintf("too many failed logins from your address: try again in %d s", secs)
	if api {
		writeJSONError(w, http.StatusTooManyRequests, msg)
		return
	}
	http.Error(w, msg, http.StatusTooManyRequests)
}

// loginRedirect is the login URL with the page asked for as next.
func loginRedirect(login string, r *http.Request) string {
	next := r.RequestURI // as the browser asked, before StripPrefix
	if next == "" {
		next = r.URL.RequestURI()
	}
	sep := "?"
	if strings.Contains(login, "?") {
		sep = "&"
	}
	return login + sep + "next=" + url.QueryEscape(next)
}

// seeOther answers a POST with a redirect to a page relative to the
// handler's root. The Location stays relative: http.Redirect would make
// it absolute from the path StripPrefix left, losing the prefix.
func seeOther(w http.ResponseWriter, rel string) {
	w.Header().Set("Location", rel)
	w.WriteHeader(http.StatusSeeOther)
}
