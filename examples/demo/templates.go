package main

import (
	"bytes"
	"html/template"
	"net/http"
)

// layout is the frame of every page; a page defines "title" and "content".
var layout = template.Must(template.New("layout").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{template "title" .}} · keyedcache demo</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<nav><a href="/">keyedcache demo</a><a href="/slow?id=1">/slow</a><a href="/function">/function</a><a href="/catalogue">/catalogue</a><a href="/cache/">/cache/</a><a href="/healthz">/healthz</a></nav>
<h1>{{template "title" .}}</h1>
{{template "content" .}}
</body>
</html>
`))

// style is the demo's style sheet. The pages have no <style> element: the
// content security policy (web.SecureHeaders) lets only style sheets the
// site serves apply.
const style = `body { font: 16px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
nav a { margin-right: 1rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { text-align: left; padding: .2rem .8rem .2rem 0; border-bottom: 1px solid #ddd; vertical-align: top; }
code { background: #f3f3f3; padding: 0 .2rem; word-break: break-all; }
.hit { color: #176117; } .miss { color: #8a5300; } .warn { color: #a11; }
form.inline { display: inline; margin: 0; }
`

func serveStyle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write([]byte(style))
}

// pageTemplate returns the layout filled in by body, which defines
// "title" and "content".
func pageTemplate(body string) *template.Template {
	return template.Must(template.Must(layout.Clone()).Parse(body))
}

// render executes t with data into a buffer first, so that a template
// error becomes a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		s.log.Error("template failed", "template", t.Name(), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
