package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/web"
)

// clock is a time the test moves by hand, so that waits are shown
// without sleeping and without depending on the machine's speed.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingAuth counts the requests whose credentials were checked.
type countingAuth struct {
	web.Challenger
	checked atomic.Int64
}

func (a *countingAuth) Authorize(r *http.Request) (string, web.Access) {
	a.checked.Add(1)
	return a.Challenger.Authorize(r)
}

// limited is a staff page with Basic logins, a clock of the test's own
// and its log captured as JSON lines.
type limited struct {
	h     *web.Handler
	auth  *countingAuth
	clock *clock
	log   *bytes.Buffer // written under slog's handler's lock; read once the requests are over
}

func newLimited(t *testing.T, opts web.Options) *limited {
	t.Helper()
	reg := keyedcache.NewRegistry()
	t.Cleanup(func() { reg.Close() })
	if err := reg.Configure(map[string]string{"default": "memory://"}); err != nil {
		t.Fatal(err)
	}
	l := &limited{auth: &countingAuth{Challenger: staffBasic(t)}, clock: &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}, log: &bytes.Buffer{}}
	opts.Registry, opts.Auth = reg, l.auth
	opts.Logger = slog.New(slog.NewJSONHandler(l.log, nil))
	l.h = web.New(opts)
	web.SetClock(l.h, l.clock.now)
	return l
}

// try sends a request straight to the handler from remote (an
// "address:port"), with Basic credentials unless user is "".
func (l *limited) try(remote, path, user, pass string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = remote
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	l.h.ServeHTTP(rec, req)
	return rec
}

// failedLogin is one line of the log about a failed login.
type failedLogin struct {
	Client   string
	User     string
	Failures int
	Wait     time.Duration
	Refused  int
}

// failedLogins reads the failed-login lines of the log.
func (l *limited) failedLogins(t *testing.T) []failedLogin {
	t.Helper()
	var out []failedLogin
	sc := bufio.NewScanner(strings.NewReader(l.log.String()))
	for sc.Scan() {
		var line struct {
			Msg      string `json:"msg"`
			Level    string `json:"level"`
			Client   string `json:"client"`
			User     string `json:"user"`
			Failures int    `json:"failures"`
			Wait     int64  `json:"wait"` // nanoseconds, as slog's JSON handler writes a duration
			Refused  int    `json:"refused_meanwhile"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if line.Msg == "keyedcache staff page: failed login" {
			if line.Level != "WARN" {
				t.Errorf("a failed login is logged at %s, want WARN", line.Level)
			}
			out = append(out, failedLogin{line.Client, line.User, line.Failures, time.Duration(line.Wait), line.Refused})
		}
	}
	return out
}

// status sums up replies: how many of each status.
func status(recs ...*httptest.ResponseRecorder) map[int]int {
	m := map[int]int{}
	for _, r := range recs {
		m[r.Code]++
	}
	return m
}

func TestLoginLimit(t *testing.T) {
	l := newLimited(t, web.Options{LoginLimit: web.LoginLimit{MaxWait: 10 * time.Second}})
	const attacker, staff = "192.0.2.1", "198.51.100.9"
	var passwords []string
	guess := func(port int) *httptest.ResponseRecorder {
		pw := fmt.Sprintf("guess-%04d", len(passwords))
		passwords = append(passwords, pw)
		return l.try(fmt.Sprintf("%s:%d", attacker, port), "/", "ann", pw, nil)
	}

	// Five free failures, answered 401 as before.
	var recs []*httptest.ResponseRecorder
	for i := range 5 {
		recs = append(recs, guess(40000+i))
	}
	if d := cmp.Diff(map[int]int{401: 5}, status(recs...)); d != "" {
		t.Errorf("the first five guesses (-want +got):\n%s", d)
	}
	// Then the client must wait: a thousand guesses at once, and even
	// the right password, are refused without being checked.
	recs = recs[:0]
	for i := range 1000 {
		recs = append(recs, guess(41000+i))
	}
	recs = append(recs,
		l.try(attacker+":42000", "/", "ann", "correct horse", nil),
		l.try(attacker+":42001", "/", "ann", "wrong", map[string]string{"X-Forwarded-For": "203.0.113.5"}), // no trusted proxy: ignored
		l.try(attacker+":42002", "/api/stats", "ann", "wrong", nil))
	if d := cmp.Diff(map[int]int{429: 1003}, status(recs...)); d != "" {
		t.Errorf("guesses while the client must wait (-want +got):\n%s", d)
	}
	if got := l.auth.checked.Load(); got != 5 {
		t.Errorf("%d of 1,008 guesses were checked; want the 5 free ones only", got)
	}
	if r := recs[0]; r.Header().Get("Retry-After") != "1" || !strings.Contains(r.Body.String(), "too many failed logins") {
		t.Errorf("a refusal: Retry-After %q, body %q", r.Header().Get("Retry-After"), r.Body)
	}
	if r := recs[len(recs)-1]; !strings.HasPrefix(r.Header().Get("Content-Type"), "application/json") || r.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("a refusal on the JSON API: Content-Type %q, CSP %q", r.Header().Get("Content-Type"), r.Header().Get("Content-Security-Policy"))
	}
	// Staff at another address are not locked out.
	if r := l.try(staff+":50000", "/", "ann", "correct horse", nil); r.Code != http.StatusOK {
		t.Errorf("staff at another address: status %d, want 200", r.Code)
	}

	// After the wait, one more guess is checked; each failure doubles
	// the wait, up to MaxWait.
	last := time.Second
	for _, wait := range []time.Duration{2, 4, 8, 10, 10} {
		wait *= time.Second
		l.clock.advance(last / 2)
		if r := guess(43000); r.Code != http.StatusTooManyRequests {
			t.Errorf("a guess before the wait of %v is over: status %d, want 429", last, r.Code)
		}
		l.clock.advance(last / 2)
		if r := guess(43001); r.Code != http.StatusUnauthorized {
			t.Errorf("a guess after the wait of %v: status %d, want 401", last, r.Code)
		}
		if r := guess(43002); r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") != fmt.Sprint(wait.Seconds()) {
			t.Errorf("right after a failure: status %d, Retry-After %q; want 429 after %v", r.Code, r.Header().Get("Retry-After"), wait)
		}
		last = wait
	}
	// The right password gets in once the wait is over.
	l.clock.advance(10 * time.Second)
	if r := l.try(attacker+":44000", "/", "ann", "correct horse", nil); r.Code != http.StatusOK {
		t.Errorf("the right password after the wait: status %d, want 200", r.Code)
	}
	// Failures are forgotten after twice MaxWait without one.
	l.clock.advance(20*time.Second + time.Millisecond)
	recs = recs[:0]
	for i := range 5 {
		recs = append(recs, guess(45000+i))
	}
	recs = append(recs, guess(45005))
	if d := cmp.Diff(map[int]int{401: 5, 429: 1}, status(recs...)); d != "" {
		t.Errorf("after a quiet while (-want +got):\n%s", d)
	}

	// Every checked failure is logged with the client and the user
	// tried, with the wait it earned and the refusals since the last.
	want := []failedLogin{
		{attacker, "ann", 1, 0, 0}, {attacker, "ann", 2, 0, 0}, {attacker, "ann", 3, 0, 0}, {attacker, "ann", 4, 0, 0},
		{attacker, "ann", 5, time.Second, 0},
		{attacker, "ann", 6, 2 * time.Second, 1003 + 1}, // the burst, and one early guess
		{attacker, "ann", 7, 4 * time.Second, 2},
		{attacker, "ann", 8, 8 * time.Second, 2},
		{attacker, "ann", 9, 10 * time.Second, 2},
		{attacker, "ann", 10, 10 * time.Second, 2},
		{attacker, "ann", 1, 0, 0}, {attacker, "ann", 2, 0, 0}, {attacker, "ann", 3, 0, 0}, {attacker, "ann", 4, 0, 0},
		{attacker, "ann", 5, time.Second, 0},
	}
	if d := cmp.Diff(want, l.failedLogins(t)); d != "" {
		t.Errorf("failed logins logged (-want +got):\n%s", d)
	}
	// Never a password, right or wrong.
	logged := l.log.String()
	for _, pw := range append(passwords, "correct horse", "wrong") {
		if strings.Contains(logged, pw) {
			t.Fatalf("the log holds the password %q:\n%s", pw, logged)
		}
	}
}

// TestLoginLimitParallel sends a burst of guesses from one client at
// once: its credentials are checked one request at a time, so no more
// than the free failures are checked, however the requests interleave.
func TestLoginLimitParallel(t *testing.T) {
	l := newLimited(t, web.Options{})
	var wg sync.WaitGroup
	codes := make([]int, 200)
	for i := range codes {
		wg.Go(func() {
			codes[i] = l.try(fmt.Sprintf("192.0.2.1:%d", 40000+i), "/", "ann", fmt.Sprint("guess", i), nil).Code
		})
	}
	wg.Wait()
	got := map[int]int{}
	for _, c := range codes {
		got[c]++
	}
	if d := cmp.Diff(map[int]int{401: 5, 429: 195}, got); d != "" || l.auth.checked.Load() != 5 {
		t.Errorf("200 guesses at once: %d checked; statuses (-want +got):\n%s", l.auth.checked.Load(), d)
	}
}

// TestLoginLimitClientAddress shows whom a wait applies to: the address
// the connection comes from, whatever X-Forwarded-For says, unless that
// address is a trusted proxy; and a whole /64 network for IPv6.
func TestLoginLimitClientAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	l := newLimited(t, web.Options{TrustedProxies: proxies})
	fail := func(remote, xff string) {
		t.Helper()
		for range 5 {
			if r := l.try(remote, "/", "ann", "wrong", map[string]string{"X-Forwarded-For": xff}); r.Code != http.StatusUnauthorized {
				t.Fatalf("a failure from %s (X-Forwarded-For %q): status %d, want 401", remote, xff, r.Code)
			}
		}
	}
	fail("10.0.0.2:4000", "192.0.2.7")  // through the proxy
	fail("[2001:db8::1]:4000", "")      // IPv6, straight
	fail("192.0.2.50:4000", "10.0.0.9") // not a proxy: the header is its own
	for _, tc := range []struct {
		remote, xff string
		want        int
	}{
		{"10.0.0.2:4001", "192.0.2.7", 429},
		{"10.0.0.3:4001", "192.0.2.7", 429},                 // another proxy, the same client
		{"10.0.0.2:4001", "192.0.2.9, 192.0.2.7", 429},      // the client wrote the first one itself
		{"10.0.0.2:4001", "192.0.2.7, 10.0.0.3", 429},       // through two proxies
		{"10.0.0.2:4001", "192.0.2.8", 200},                 // another client behind the proxy
		{"10.0.0.2:4001", "", 200},                          // the proxy itself
		{"192.0.2.7:4001", "", 429},                         // the client, straight
		{"192.0.2.7:4001", "198.51.100.1", 429},             // not from a proxy: the header is ignored
		{"192.0.2.50:4001", "", 429},                        // failed with a header naming a proxy
		{"10.0.0.2:4001", "192.0.2.50", 429},                // and the same through the proxy
		{"[2001:db8::ffff]:4001", "", 429},                  // the same /64
		{"[2001:db8:0:1::1]:4001", "", 200},                 // another /64
		{"[::ffff:192.0.2.7]:4001", "", 429},                // IPv4 mapped into IPv6
		{"[fd00::1]:4001", "198.51.100.2", 200},             // an IPv6 proxy
		{"10.0.0.2:4001", "not an address, 192.0.2.7", 429}, // junk left of the client is never read
	} {
		if r := l.try(tc.remote, "/", "ann", "correct horse", map[string]string{"X-Forwarded-For": tc.xff}); r.Code != tc.want {
			t.Errorf("from %s, X-Forwarded-For %q: status %d, want %d", tc.remote, tc.xff, r.Code, tc.want)
		}
	}
	clients := map[string]int{}
	for _, f := range l.failedLogins(t) {
		clients[f.Client]++
	}
	if d := cmp.Diff(map[string]int{"192.0.2.7": 5, "2001:db8::/64": 5, "192.0.2.50": 5}, clients); d != "" {
		t.Errorf("clients named in the log (-want +got):\n%s", d)
	}
}

// TestLoginLimitBoundedMemory fails from many addresses: only the most
// recent clients are remembered, and none that did not fail.
func TestLoginLimitBoundedMemory(t *testing.T) {
	l := newLimited(t, web.Options{LoginLimit: web.LoginLimit{Clients: 100}})
	for i := range 1000 {
		l.try(fmt.Sprintf("198.51.100.%d:1", i%250), "/", "ann", "correct horse", nil)
	}
	if n := web.RememberedClients(l.h); n != 0 {
		t.Errorf("%d clients remembered after logins that did not fail; want 0", n)
	}
	for i := range 5000 {
		ip := netip.AddrFrom4([4]byte{203, byte(i >> 16), byte(i >> 8), byte(i)})
		l.try(netip.AddrPortFrom(ip, 1).String(), "/", "ann", "wrong", nil)
	}
	if n := web.RememberedClients(l.h); n != 100 {
		t.Errorf("%d clients remembered after failures from 5,000 addresses; want 100", n)
	}
	// The most recent are the ones kept: the last address fails its
	// way to a wait; the first is forgotten and starts afresh.
	last := "203.0.19.135:2" // address 4999
	for range 4 {
		l.try(last, "/", "ann", "wrong", nil)
	}
	if r := l.try(last, "/", "ann", "wrong", nil); r.Code != http.StatusTooManyRequests {
		t.Errorf("a remembered client after its fifth failure: status %d, want 429", r.Code)
	}
	first := "203.0.0.0:2" // address 0, failed once, long ago
	got := status()
	for range 5 {
		got[l.try(first, "/", "ann", "wrong", nil).Code]++
	}
	if d := cmp.Diff(map[int]int{401: 5}, got); d != "" {
		t.Errorf("a forgotten client's next five failures (-want +got):\n%s", d)
	}
	if n := web.RememberedClients(l.h); n != 100 {
		t.Errorf("%d clients remembered; want 100", n)
	}
}

// TestLoginLimitAuthorizerPanics checks that a panic in the Authorizer
// ends the client's turn: its next request is checked, not stuck.
func TestLoginLimitAuthorizerPanics(t *testing.T) {
	reg := keyedcache.NewRegistry()
	t.Cleanup(func() { reg.Close() })
	reg.Configure(map[string]string{"default": "memory://"})
	var calls atomic.Int64
	h := web.New(web.Options{Registry: reg, Logger: slog.New(slog.DiscardHandler), Auth: web.AuthorizerFunc(func(*http.Request) (string, web.Access) {
		if calls.Add(1) == 1 {
			panic("the session store is down")
		}
		return "ann", web.Staff
	})})
	serve := func() (body string, panicked any) {
		defer func() { panicked = recover() }()
		// A stuck turn would hold the request until its context ends.
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
		req.RemoteAddr = "192.0.2.1:1"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Body.String(), nil
	}
	if _, p := serve(); p == nil {
		t.Fatal("the Authorizer's panic did not reach the server")
	}
	if body, p := serve(); !strings.Contains(body, "signed in as <b>ann</b>") || p != nil {
		t.Errorf("the request after a panic: panic %v, body:\n%s", p, body)
	}
	if n := web.RememberedClients(h); n != 0 {
		t.Errorf("%d clients remembered; want 0", n)
	}
}
