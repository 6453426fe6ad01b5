module keyedcache.dev

go 1.24.0

require (
	github.com/fxamacker/cbor/v2 v2.9.6
	github.com/google/go-cmp v0.7.0
	github.com/maypok86/otter/v2 v2.4.0
)

require github.com/x448/float16 v0.8.4 // indirect
