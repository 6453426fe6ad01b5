package mixin

import (
	"database/sql"
	"errors"
)

// ErrNotFound is matched by every *NotFoundError, whatever the model's
// own not-found error is, so that generic code can tell a missing row
// from a failure: errors.Is(err, mixin.ErrNotFound). It is also the
// model's not-found error when WithNotFound does not set one.
var ErrNotFound = errors.New("mixin: not found")

// NotFoundError is what Find returns when the model has no row for what
// was asked: the loader said so, or a cached not-found answer did (see
// WithNotFoundTTL). It matches the model's not-found error (WithNotFound)
// and ErrNotFound through errors.Is.
type NotFoundError struct {
	Model string // the model's name, e.g. "Product"
	Key   string // the cache key that was looked up, e.g. "Product::7"
	Err   error  // the model's not-found error
}

// Error says what was not found, in the words of the model's not-found
// error.
func (e *NotFoundError) Error() string {
	return e.Err.Error() + " (" + e.Key + ")"
}

// Unwrap returns the model's not-found error and ErrNotFound.
func (e *NotFoundError) Unwrap() []error {
	if e.Err == ErrNotFound {
		return []error{ErrNotFound}
	}
	return []error{e.Err, ErrNotFound}
}

// isNotFound reports whether a loader's error means "no such row": the
// model's not-found error, ErrNotFound, or database/sql's ErrNoRows.
func isNotFound(err, modelErr error) bool {
	return errors.Is(err, modelErr) || errors.Is(err, ErrNotFound) || errors.Is(err, sql.ErrNoRows)
}
