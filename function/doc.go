// Package function will cache slow functions by their arguments,
// computing each result once across goroutines and processes. It is
// empty until that work lands; see the project README.
package function
