package main

// The staff page (package web) at /cache/, behind HTTP Basic
// authentication with a login made up at every start.

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/web"
)

// staffUser is the demo's one staff login name; its password is drawn at
// start and printed, so that nobody else on the machine can guess it.
const staffUser = "staff"

// mountStaff mounts the staff page for every alias of reg at /cache/ and
// returns the login to print. Anyone without it gets 401; deletions and
// failed logins are logged through log, and a client that keeps failing
// must wait (web.LoginLimit). Values show only with showValues (the
// -show-values flag): a cache may hold what staff should not read.
func mountStaff(mux *http.ServeMux, reg *keyedcache.Registry, log *slog.Logger, showValues bool) (user, password string, err error) {
	password = rand.Text()
	auth, err := web.BasicAuth("keyedcache demo staff", map[string]string{staffUser: password})
	if err != nil {
		return "", "", fmt.Errorf("staff page: %w", err)
	}
	mux.Handle("/cache/", http.StripPrefix("/cache", web.New(web.Options{
		Registry:   reg,
		Auth:       auth,
		Logger:     log,
		ShowValues: showValues,
	})))
	return staffUser, password, nil
}
