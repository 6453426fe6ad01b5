package web_test

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/web"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the staff page screenshot to ../docs/staff-page.png")

// chromium returns the path of a Chromium: a missing one skips the test
// with an install hint, and fails it with CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	msg := "chromium not found; install it (Debian: apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing browser is a failure)")
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless Chromium with a fresh profile and returns a
// tab. The flags keep it off the network: this machine has none, and
// Chromium waits on it otherwise.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := chromium(t)
	profile, err := os.MkdirTemp("", "keyedcache-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Chromium's helpers may still write for a moment after it exits.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the profile %s", profile)
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // tests may run as root
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.Env("TMPDIR="+profile), // its scratch directories go with the profile
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil { // start it now, so a failure says so
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

// loginSite is an application with a login form of its own, session
// cookies, and the staff page at /cache/ behind them: the flow of
// Django's user_passes_test, driven by a real browser.
type loginSite struct {
	mu       sync.Mutex
	sessions map[string]string // session id → user
	users    map[string]string // user → password
	staff    map[string]bool
}

var loginForm = template.Must(template.New("login").Parse(`<!doctype html><title>Log in</title>
<form method="post" action="/login"><input type="hidden" name="next" value="{{.}}">
<label>User <input id="user" name="user"></label> <label>Password <input id="password" name="password" type="password"></label>
<button id="login">Log in</button></form>`))

func (s *loginSite) auth(r *http.Request) (string, web.Access) {
	c, err := r.Cookie("session")
	if err != nil {
		return "", web.Anonymous
	}
	s.mu.Lock()
	user := s.sessions[c.Value]
	s.mu.Unlock()
	switch {
	case user == "":
		return "", web.Anonymous
	case !s.staff[user]:
		return user, web.Forbidden
	}
	return user, web.Staff
}

func (s *loginSite) login(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		loginForm.Execute(w, r.URL.Query().Get("next"))
		return
	}
	user := r.PostFormValue("user")
	if pw, ok := s.users[user]; !ok || pw != r.PostFormValue("password") {
		http.Error(w, "wrong user or password", http.StatusUnauthorized)
		return
	}
	id := rand.Text()
	s.mu.Lock()
	s.sessions[id] = user
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	next := r.PostFormValue("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") { // local pages only
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// product is a value as an application caches it.
type product struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Price float64  `json:"price"`
	Tags  []string `json:"tags,omitempty"`
}

// TestBrowser logs in with Chromium, reads the stats, filters the keys,
// deletes a key with its children and sees them gone, and checks that a
// key holding a <script> runs nothing.
func TestBrowser(t *testing.T) {
	ctx := browser(t)

	reg := keyedcache.NewRegistry()
	t.Cleanup(func() { reg.Close() })
	if err := reg.Configure(map[string]string{
		"default":  "memory://?key_prefix=shop&timeout=600",
		"sessions": "file://" + t.TempDir() + "?timeout=3600",
	}); err != nil {
		t.Fatal(err)
	}
	c, _ := reg.Lookup("default")
	bg := context.Background()
	products := []product{{1, "Tortoise", 9.5, []string{"slow", "steady"}}, {2, "Hare", 12, []string{"fast"}}, {12, "Owl", 30, nil}, {7, "Fox", 18.25, nil}}
	for _, p := range products {
		c.Set(bg, c.Key("product", p.ID), p)
	}
	c.Set(bg, c.Key("product", 1, "summary"), "slow but sure")
	c.Set(bg, c.Key("product", 1, "photo", 1), "tortoise-1.jpg", keyedcache.TTL(90*time.Second))
	c.Set(bg, c.Key("user", 7), map[string]any{"name": "Ann", "staff": true})
	c.Set(bg, c.Key("visits"), 1041, keyedcache.TTL(keyedcache.Forever))
	for _, id := range []int{1, 1, 2, 12, 3, 4, 1, 7} {
		keyedcache.GetOr(bg, c, product{}, "product", id)
	}
	sessions, _ := reg.Lookup("sessions")
	sessions.Set(bg, sessions.Key("session", "f3a9"), map[string]any{"user": 7})
	// A cached function, whose figures show in the "functions" section.
	// Figures of a function name live as long as the process: count
	// from what earlier runs (-count) left.
	before, _ := function.StatsOf("catalogue.price")
	price := function.CacheFunction(func(_ context.Context, id int) (float64, error) { return float64(id) * 1.5, nil },
		function.WithCache(sessions), function.WithName("catalogue.price"))
	for _, id := range []int{1, 1, 1, 2} {
		if _, err := price(bg, id); err != nil {
			t.Fatal(err)
		}
	}
	// One more, with the long name a function gets from its package
	// path, for a wider table.
	stock := function.CacheFunction(func(_ context.Context, sku string) (int, error) { return len(sku), nil },
		function.WithCache(sessions), function.WithName("example.com/shop/inventory.StockLevel"))
	if _, err := stock(bg, "kite-red"); err != nil {
		t.Fatal(err)
	}

	ls := &loginSite{sessions: map[string]string{}, users: map[string]string{"ann": "s3cret", "carl": "visitor"}, staff: map[string]bool{"ann": true}}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", ls.login)
	mux.Handle("/cache/", http.StripPrefix("/cache", web.New(web.Options{
		Registry: reg, Auth: web.AuthorizerFunc(ls.auth), LoginURL: "/login", PageSize: 20,
		Logger: slog.New(slog.DiscardHandler), ShowValues: true,
	})))
	ts := httptest.NewServer(mux) // 127.0.0.1, a free port
	t.Cleanup(ts.Close)

	// Log in: the page sends the browser to the login form, which sends
	// it back.
	must(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/cache/?alias=default")))
	loc := run(t, ctx, chromedp.Location())
	if !strings.HasPrefix(loc, ts.URL+"/login?next=") {
		t.Fatalf("an anonymous visit landed on %s; want the login form", loc)
	}
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("user"), "ann"),
		chromedp.SendKeys(chromedp.ID("password"), "s3cret"),
	))
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("login"))); err != nil {
		t.Fatal(err)
	}
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("stats"))))
	if loc := run(t, ctx, chromedp.Location()); loc != ts.URL+"/cache/?alias=default" {
		t.Errorf("after logging in: %s", loc)
	}

	// The stats, as the page shows them, are the cache's.
	st := c.Stats()
	figures := run(t, ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll("dd[id]")].map(d => [d.id, d.textContent.trim()]))`))
	want := map[string]string{
		"status": "running", "calls": fmt.Sprint(st.Calls), "hits": fmt.Sprint(st.Hits), "misses": fmt.Sprint(st.Misses),
		"hit-rate": fmt.Sprintf("%.1f %%", st.HitRate*100), "errors": "0", "keys-count": "8", "timeout": "10m0s",
	}
	for k, v := range want {
		if figures[k] != v {
			t.Errorf("figure %s = %q, want %q", k, figures[k], v)
		}
	}
	if st.Calls != 8 || st.Hits != 6 {
		t.Errorf("stats %+v; the test meant 8 calls, 6 hits", st)
	}
	// The cached function's row: name first, then its figures.
	row := run(t, ctx, chromedp.Evaluate[map[string]string](`(() => {
		const table = [...document.querySelectorAll("#sections h3")].find(h => h.textContent === "functions")?.nextElementSibling;
		if (!table) return {};
		const cols = [...table.querySelectorAll("thead th")].map(th => th.textContent);
		const tr = [...table.querySelectorAll("tbody tr")].find(tr => tr.cells[0].textContent === "catalogue.price");
		return tr ? Object.fromEntries(cols.map((c, i) => [c, tr.cells[i].textContent])) : {};
	})()`))
	wantRow := map[string]string{"name": "catalogue.price", "calls": fmt.Sprint(before.Calls + 4), "hits": fmt.Sprint(before.Hits + 2), "computations": fmt.Sprint(before.Computations + 2)}
	for k, v := range wantRow {
		if row[k] != v {
			t.Errorf("the functions section shows %v; want %v (4 calls, 2 hits, 2 computations in this run)", row, wantRow)
			break
		}
	}
	// Its compute time reads as a duration, not a count of nanoseconds.
	fst, _ := function.StatsOf("catalogue.price")
	if d, err := time.ParseDuration(row["compute_time"]); err != nil || d < fst.ComputeTime*999/1000 || d > fst.ComputeTime*1001/1000 {
		t.Errorf("compute_time shows %q; want %v to four figures, as a duration (%v)", row["compute_time"], fst.ComputeTime, err)
	}
	checkFits(t, ctx)
	if err := screenshotTo(ctx, filepath.Join("..", "docs", "staff-page.png"), *updateScreenshot); err != nil {
		t.Error(err)
	}
	shot(t, ctx, "overview")

	// A cached function's entries show the result, not the record
	// around it.
	must(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/cache/?alias=sessions&prefix=func::catalogue.price::")))
	previews := run(t, ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll("table.keys tbody tr")].map(tr => [tr.querySelector("td.key code").textContent, tr.querySelector("td.preview").textContent]))`))
	if d := cmp.Diff(map[string]string{
		"func::catalogue.price::1": "cached function result 1.5",
		"func::catalogue.price::2": "cached function result 3",
	}, previews); d != "" {
		t.Errorf("cached function entries (-want +got):\n%s", d)
	}
	checkFits(t, ctx)
	shot(t, ctx, "function-entries")
	must(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/cache/key?alias=sessions&key="+url.QueryEscape("func::catalogue.price::2"))))
	if got := run(t, ctx, chromedp.Evaluate[map[string]string](
		`({value: document.getElementById("value").textContent, note: document.getElementById("note").textContent})`)); !cmp.Equal(got, map[string]string{"value": "3", "note": "cached function result"}) {
		t.Errorf("a cached function entry's page shows %v; want its result, 3", got)
	}

	// Filter the keys.
	must(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/cache/?alias=default")))
	must(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`input[name="prefix"]`), "product::1")))
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form.filter button`))); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"product::1", "product::12", "product::1::photo::1", "product::1::summary"}
	if d := cmp.Diff(wantKeys, keysShown(t, ctx)); d != "" {
		t.Errorf("keys starting with product::1 (-want +got):\n%s", d)
	}
	shot(t, ctx, "filtered")

	// Delete product::1 with its children.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.JSPath(
		`[...document.querySelectorAll("table.keys tr")].filter(tr => tr.querySelector("td.key code")?.textContent === "product::1").map(tr => tr.querySelector('button[value="1"]'))`))); err != nil {
		t.Fatal(err)
	}
	notice := run(t, ctx, chromedp.Text(chromedp.CSS("p.notice")))
	if notice != `Deleted "product::1" and every key under it.` {
		t.Errorf("notice %q", notice)
	}
	if d := cmp.Diff([]string{"product::12"}, keysShown(t, ctx)); d != "" {
		t.Errorf("after deleting product::1 with children (-want +got):\n%s", d)
	}
	for _, k := range []string{"product::1", "product::1::summary", "product::1::photo::1"} {
		if c.IsCached(bg, k) {
			t.Errorf("%s is still cached", k)
		}
	}
	if !c.IsCached(bg, "product::12") || !c.IsCached(bg, "product::2") {
		t.Error("deleting product::1 took product::12 or product::2 with it")
	}
	shot(t, ctx, "deleted")

	// A key holding markup shows as text and runs nothing: the page has
	// no script element at all, and the key and value read as written.
	const xss = `<script>window.pwned=1</script>`
	c.Set(bg, xss, `<img src=x onerror="window.pwned=2">`)
	must(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/cache/?alias=default&prefix=%3Cscript")))
	if d := cmp.Diff([]string{xss}, keysShown(t, ctx)); d != "" {
		t.Errorf("the <script> key (-want +got):\n%s", d)
	}
	checkInert(t, ctx)
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("td.key a"))))
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("value"))))
	if got := run(t, ctx, chromedp.Text(chromedp.ID("key"))); got != xss {
		t.Errorf("key page shows key %q", got)
	}
	if got := run(t, ctx, chromedp.Text(chromedp.ID("value"))); got != `"<img src=x onerror=\"window.pwned=2\">"` {
		t.Errorf("key page shows value %q", got)
	}
	checkInert(t, ctx)
	shot(t, ctx, "script-key")

	// Someone logged in who is not staff gets nothing.
	must(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/login")))
	must(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("user"), "carl"), chromedp.SendKeys(chromedp.ID("password"), "visitor")))
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("login"))); err != nil {
		t.Fatal(err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(ts.URL+"/cache/"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusForbidden {
		t.Errorf("carl, not staff: status %d, want 403", resp.Status)
	}
}

// checkFits fails the test unless the window is 1280 px wide and every
// table lies within its card, between the card's paddings, so that
// nothing needs scrolling sideways.
func checkFits(t *testing.T, ctx context.Context) {
	t.Helper()
	got := run(t, ctx, chromedp.Evaluate[map[string]any](`(() => {
		const out = {width: window.innerWidth, tables: document.querySelectorAll("section table").length, overflowing: []};
		for (const table of document.querySelectorAll("section table")) {
			const card = table.closest("section"), cs = getComputedStyle(card);
			const c = card.getBoundingClientRect(), r = table.getBoundingClientRect();
			const left = c.left + parseFloat(cs.borderLeftWidth) + parseFloat(cs.paddingLeft);
			const right = c.right - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight);
			if (r.left < left - 0.5 || r.right > right + 0.5 || card.scrollWidth > card.clientWidth) {
				const head = [...table.querySelectorAll("th")].slice(0, 3).map(th => th.textContent).join(",");
				out.overflowing.push(card.id + " table [" + head + "…]: " + Math.round(r.left) + "–" + Math.round(r.right) + " px in a card of " + Math.round(left) + "–" + Math.round(right) + " px");
			}
		}
		return out;
	})()`))
	if got["width"] != 1280.0 || got["tables"] == 0.0 {
		t.Errorf("the window is %v px wide with %v tables; the check wants 1280 px and some tables", got["width"], got["tables"])
	}
	if over, _ := got["overflowing"].([]any); len(over) > 0 {
		t.Errorf("tables wider than their card at 1280 px: %v", over)
	}
}

// checkInert fails the test if the page holds a script element, an image
// or a sign that injected code ran.
func checkInert(t *testing.T, ctx context.Context) {
	t.Helper()
	got := run(t, ctx, chromedp.Evaluate[map[string]any](
		`({scripts: document.scripts.length, images: document.images.length, pwned: typeof window.pwned})`))
	if d := cmp.Diff(map[string]any{"scripts": 0.0, "images": 0.0, "pwned": "undefined"}, got); d != "" {
		t.Errorf("the page is not inert (-want +got):\n%s", d)
	}
}

// keysShown reads the keys listed on the page, in order.
func keysShown(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("td.key code")].map(c => c.textContent)`))
}

// shot saves a screenshot as a test artefact, in $KEYEDCACHE_ARTIFACTS
// or the temporary directory.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("KEYEDCACHE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "keyedcache-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "web-"+name+".png")
	if err := screenshotTo(ctx, path, true); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func screenshotTo(ctx context.Context, path string, write bool) error {
	if !write {
		return nil
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
