// Package codec measures the candidate codecs for keyedcache's default value
// encoding: encoding/gob, encoding/json, github.com/vmihailenco/msgpack/v5 and
// github.com/fxamacker/cbor/v2 (with its default time encoding and with
// RFC 3339 nanosecond time encoding).
//
// Every codec is exercised the way a cache uses it: each value is encoded on
// its own and stored separately, so gob gets a fresh Encoder and Decoder per
// value and pays its type preamble every time. The benchmarks report the
// encoded size as a "bytes" metric next to ns/op, B/op and allocs/op; the
// tests check exact round trips, fidelity on edge cases, and that truncated,
// garbage and hostile input is an error rather than a panic.
//
// The package has no non-test code; run it with
//
//	go test -run=^$ -bench=. -benchmem ./codec/
package codec
