// Package threaded will hold the first-level caches: one per request
// (net/http middleware) and one per process in front of a shared
// backend. It is empty until that work lands; see the project README.
package threaded
