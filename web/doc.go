// Package web will serve the staff debug page: stats, keys and a delete
// form, as an http.Handler. It is empty until that work lands; see the
// project README.
package web
