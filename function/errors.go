package function

import "fmt"

// CachedError is an error the function returned earlier, cached by
// WithErrorTTL and returned to later callers. It carries the message
// only: the error's type and chain do not survive the trip through the
// cache. Callers in the process that computed it get the original error.
type CachedError struct {
	Func string // the function's name
	Key  string // the key the error is cached under
	Msg  string // the original error's message
}

// Error returns the original error's message.
func (e *CachedError) Error() string { return e.Msg }

// PanicError is what every caller waiting on a computation that panicked
// panics with: the value the function panicked with and the stack of the
// goroutine it panicked in. Nothing is cached.
type PanicError struct {
	Func  string // the function's name
	Value any    // what the function panicked with
	Stack []byte // where it panicked
}

// Error describes the panic and where it happened.
func (e *PanicError) Error() string {
	return fmt.Sprintf("function %s panicked: %v\n\n%s", e.Func, e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
