package web

import "net/http"

// contentSecurityPolicy allows nothing but the site's own style sheets
// and images, and forms posting to the site itself: no script runs,
// whatever a key or value holds, and no other site may frame the page.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SecureHeaders wraps next so that every response, errors and redirects
// included, carries the headers the staff page sends: a content security
// policy under which no script runs and nothing loads but the site's own
// style sheets and images, and forms post only to the site; no framing,
// no content sniffing, no caching by the browser, no referrer (keys in
// URLs stay on the site), and no sharing of the window or the responses
// with other origins.
//
// The staff page sets them itself; SecureHeaders is for the rest of a
// site that wants the same, such as examples/demo. Pages under it must
// keep their styles in style sheets the site serves (no <style> element,
// no style attribute) and use no script.
func SecureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
