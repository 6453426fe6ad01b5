package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/web"
)

// shownKey is what the JSON endpoints tell of a key and its value.
type shownKey struct {
	Key     string `json:"key"`
	Size    int    `json:"size"`
	Preview string `json:"preview"`
	Value   any    `json:"value"`
	Hidden  string `json:"value_hidden"`
}

// secrets are values no staff user should read unless the operator says.
var secrets = map[string]string{
	"session::f3a9":       "token-7d1c0ffee",
	"user::7::password":   "pw-hunter2",
	"product::1":          "Tortoise",
	"product::2::summary": "slow but sure",
}

func storeSecrets(t *testing.T, s *site) {
	t.Helper()
	c := s.cache(t, "default")
	for k, v := range secrets {
		if err := c.Set(t.Context(), k, v); err != nil {
			t.Fatal(err)
		}
	}
	// Bytes no codec reads: their raw form is a value too.
	c.Backend().Set(t.Context(), "site::raw", []byte("\x01\xbf raw-s3cret"), time.Minute)
}

// pages fetches every page and endpoint that could show the value of key.
func pages(t *testing.T, s *site, key string) map[string]string {
	q := url.Values{"alias": {"default"}, "key": {key}}.Encode()
	return map[string]string{
		"/":            s.get(t, "/cache/?alias=default", http.StatusOK).Body,
		"/key":         s.get(t, "/cache/key?"+q, http.StatusOK).Body,
		"/api/keys":    s.get(t, "/cache/api/keys?alias=default", http.StatusOK).Body,
		"/api/key":     s.get(t, "/cache/api/key?"+q, http.StatusOK).Body,
		"/ (filtered)": s.get(t, "/cache/?alias=default&prefix="+url.QueryEscape(key), http.StatusOK).Body,
	}
}

func TestValuesHiddenByDefault(t *testing.T) {
	s := newSite(t, map[string]string{"default": "memory://?key_prefix=site"}, web.Options{Auth: staffBasic(t)})
	storeSecrets(t, s)
	for key := range secrets {
		for page, body := range pages(t, s, key) {
			if strings.Contains(body, secrets[key]) {
				t.Errorf("%s shows the value of %s without ShowValues", page, key)
			}
			if !strings.Contains(body, key) {
				t.Errorf("%s does not show the key %s", page, key)
			}
		}
	}
	for page, body := range pages(t, s, "raw") {
		if strings.Contains(body, "raw-s3cret") {
			t.Errorf("%s shows the raw bytes of an undecodable value without ShowValues", page)
		}
	}
	// Keys and sizes show; values do not, and the page says why.
	r := s.get(t, "/cache/?alias=default", http.StatusOK)
	if !strings.Contains(r.Body, `id="values-hidden"`) || strings.Contains(r.Body, "<th>value</th>") {
		t.Errorf("the keys page has a value column, or does not say values are hidden:\n%s", r.Body)
	}
	if !strings.Contains(r.Body, `<span class="warn">undecodable</span>`) {
		t.Error("the keys page does not mark the undecodable value")
	}
	r = s.get(t, "/cache/key?alias=default&key=session::f3a9", http.StatusOK)
	if !strings.Contains(r.Body, `<p class="note" id="value-hidden">The value is not shown: the staff page is configured without ShowValues.</p>`) ||
		!strings.Contains(r.Body, `<td id="size">17 bytes</td>`) {
		t.Errorf("the key page does not give the size and say the value is hidden:\n%s", r.Body)
	}
	const why = "the staff page is configured without ShowValues"
	kp := decode[struct{ Keys []shownKey }](t, s.get(t, "/cache/api/keys?alias=default&prefix=product::", http.StatusOK))
	want := []shownKey{{Key: "product::1", Size: 10, Hidden: why}, {Key: "product::2::summary", Size: 15, Hidden: why}}
	if d := cmp.Diff(want, kp.Keys); d != "" {
		t.Errorf("api/keys (-want +got):\n%s", d)
	}
	ki := decode[shownKey](t, s.get(t, "/cache/api/key?alias=default&key=session::f3a9", http.StatusOK))
	if d := cmp.Diff(shownKey{Key: "session::f3a9", Size: 17, Hidden: why}, ki); d != "" {
		t.Errorf("api/key (-want +got):\n%s", d)
	}
}

func TestValuesShownAndRedacted(t *testing.T) {
	s := newSite(t, map[string]string{"default": "memory://?key_prefix=site"},
		web.Options{Auth: staffBasic(t), ShowValues: true, RedactPrefixes: []string{"session::", "user::"}})
	storeSecrets(t, s)
	for key, v := range secrets {
		redacted := strings.HasPrefix(key, "session::") || strings.HasPrefix(key, "user::")
		for page, body := range pages(t, s, key) {
			if shows := strings.Contains(body, v); shows == redacted {
				t.Errorf("%s of %s: shows the value %v, want %v", page, key, shows, !redacted)
			}
		}
	}
	r := s.get(t, "/cache/?alias=default", http.StatusOK)
	if !strings.Contains(r.Body, "<th>value</th>") || strings.Contains(r.Body, `id="values-hidden"`) ||
		!strings.Contains(r.Body, `<em class="hidden" title="the values of keys starting with &#34;session::&#34; are redacted">redacted</em>`) {
		t.Errorf("the keys page does not show values with the redacted one marked:\n%s", r.Body)
	}
	if !strings.Contains(r.Body, "raw-s3cret") {
		t.Error("with ShowValues, the raw bytes of an undecodable value do not show")
	}
	kp := decode[struct{ Keys []shownKey }](t, s.get(t, "/cache/api/keys?alias=default&prefix=product::", http.StatusOK))
	want := []shownKey{{Key: "product::1", Size: 10, Preview: `"Tortoise"`}, {Key: "product::2::summary", Size: 15, Preview: `"slow but sure"`}}
	if d := cmp.Diff(want, kp.Keys); d != "" {
		t.Errorf("api/keys (-want +got):\n%s", d)
	}
	for key, want := range map[string]shownKey{
		"product::1":        {Key: "product::1", Size: 10, Preview: `"Tortoise"`, Value: "Tortoise"},
		"session::f3a9":     {Key: "session::f3a9", Size: 17, Hidden: `the values of keys starting with "session::" are redacted`},
		"user::7::password": {Key: "user::7::password", Size: 12, Hidden: `the values of keys starting with "user::" are redacted`},
	} {
		got := decode[shownKey](t, s.get(t, "/cache/api/key?alias=default&key="+url.QueryEscape(key), http.StatusOK))
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("api/key %s (-want +got):\n%s", key, d)
		}
	}
}
