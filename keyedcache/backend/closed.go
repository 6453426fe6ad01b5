package backend

import "errors"

var (
	// ErrClosed is matched by the error of every call on a backend after
	// its Close (each backend's own closed error wraps it; see
	// ClosedError), and through a keyedcache.Cache by every operation
	// after the Cache's Close.
	ErrClosed = errors.New("backend: store is closed")
	// ErrTooLarge is matched by the error of a write the store refused
	// because the value is larger than it keeps (memcached's item size
	// limit, say). It is about the value, not the store: the store
	// answered, and other writes succeed.
	ErrTooLarge = errors.New("backend: value too large for the store")
)

// ClosedError returns the error a backend named name returns from every
// call after its Close: "name: store is closed", matching ErrClosed.
func ClosedError(name string) error { return closedError{name} }

type closedError struct{ name string }

func (e closedError) Error() string { return e.name + ": store is closed" }
func (e closedError) Unwrap() error { return ErrClosed }
