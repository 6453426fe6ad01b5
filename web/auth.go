package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Access is what an Authorizer decides about a request. The zero value
// is Anonymous, so a decision nobody made denies.
type Access int

const (
	// Anonymous means nobody is logged in: the page sends the browser
	// to Options.LoginURL, or answers 401 without one.
	Anonymous Access = iota
	// Forbidden means someone is logged in who is not staff: 403.
	Forbidden
	// Staff may use the page.
	Staff
	// BadCredentials means credentials were offered and are wrong. The
	// request is answered as Anonymous, and counts as a failed login of
	// its client: it is logged (with the user name tried, which the
	// Authorizer returns) and slowed down by Options.LoginLimit.
	BadCredentials
)

// String names the access level.
func (a Access) String() string {
	switch a {
	case Anonymous:
		return "anonymous"
	case Forbidden:
		return "forbidden"
	case Staff:
		return "staff"
	case BadCredentials:
		return "bad credentials"
	}
	return "Access(" + strconv.Itoa(int(a)) + ")"
}

// An Authorizer decides who may see the staff page, as Django's
// user_passes_test does for a view: it returns the name of the user the
// request comes from ("" when anonymous; the name tried for
// BadCredentials), shown on the page and in the log of deletions and
// failed logins, and what that user may do. It is called for every
// request, and must be safe for concurrent use.
type Authorizer interface {
	Authorize(r *http.Request) (user string, access Access)
}

// AuthorizerFunc adapts a function to an Authorizer, as
// http.HandlerFunc adapts one to a Handler:
//
//	web.AuthorizerFunc(func(r *http.Request) (string, web.Access) {
//		u := sessions.User(r) // the application's own login
//		switch {
//		case u == nil:
//			return "", web.Anonymous
//		case !u.IsStaff:
//			return u.Name, web.Forbidden
//		}
//		return u.Name, web.Staff
//	})
type AuthorizerFunc func(r *http.Request) (user string, access Access)

// Authorize calls f(r).
func (f AuthorizerFunc) Authorize(r *http.Request) (string, Access) { return f(r) }

// A Challenger is an Authorizer that asks anonymous requests for
// credentials itself: when there is no Options.LoginURL, the page answers
// an anonymous request 401 with a WWW-Authenticate header of Challenge's
// value. BasicAuth's Authorizer is one.
type Challenger interface {
	Authorizer
	Challenge() string
}

// BasicAuth returns an Authorizer for HTTP Basic authentication with the
// given users and their passwords (from configuration: a flag, the
// environment, a secret store — never the source code). Every user
// listed is staff; missing credentials are Anonymous and wrong ones
// BadCredentials, so the browser asks again, and the failure is logged
// and slowed down (see LoginLimit). Names and passwords are compared in constant time,
// through their SHA-256 digests, against every user, so that neither the
// length of a password nor which names exist shows in the timing.
//
// Basic authentication sends the password with every request: serve the
// page over HTTPS, or on loopback only.
func BasicAuth(realm string, users map[string]string) (Challenger, error) {
	if len(users) == 0 {
		return nil, errors.New("web: BasicAuth needs at least one user")
	}
	b := &basicAuth{realm: realm}
	for name, password := range users {
		if name == "" || strings.Contains(name, ":") {
			return nil, errors.New("web: BasicAuth: a user name must be non-empty and hold no ':'")
		}
		if password == "" {
			return nil, errors.New("web: BasicAuth: user " + name + " has an empty password")
		}
		b.users = append(b.users, basicUser{name: name, nameSum: sha256.Sum256([]byte(name)), passSum: sha256.Sum256([]byte(password))})
	}
	return b, nil
}

type basicAuth struct {
	realm string
	users []basicUser
}

type basicUser struct {
	name             string
	nameSum, passSum [sha256.Size]byte
}

// Authorize checks the request's Basic credentials.
func (b *basicAuth) Authorize(r *http.Request) (string, Access) {
	name, password, ok := r.BasicAuth()
	if !ok {
		return "", Anonymous
	}
	nameSum, passSum := sha256.Sum256([]byte(name)), sha256.Sum256([]byte(password))
	found := -1
	for i := range b.users { // every user, whatever matches
		u := &b.users[i]
		match := subtle.ConstantTimeCompare(nameSum[:], u.nameSum[:]) & subtle.ConstantTimeCompare(passSum[:], u.passSum[:])
		found = subtle.ConstantTimeSelect(match, i, found)
	}
	if found < 0 {
		return name, BadCredentials
	}
	return b.users[found].name, Staff
}

// Challenge asks for Basic credentials in the realm.
func (b *basicAuth) Challenge() string {
	return `Basic realm=` + strconv.Quote(b.realm) + `, charset="UTF-8"`
}
