package codec

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// Product is a typical cached row: a few scalars, a short slice and a
// timestamp.
type Product struct {
	ID      int64
	Name    string
	Price   float64
	Tags    []string
	Updated time.Time
	Active  bool
}

// Counters is the smallest useful cached value: three integers.
type Counters struct {
	Views, Likes, Shares int
}

// codec is one candidate, seen through the signature the core's codec will
// have: encode any value, decode into a pointer.
type codec struct {
	name      string
	marshal   func(v any) ([]byte, error)
	unmarshal func(data []byte, v any) error
}

// The cbor-nano candidate: time.Time as RFC 3339 text with nanoseconds and
// the UTC offset, and Go's view of strings (any bytes) on the way back,
// since the default decoder rejects a string that its encoder wrote when
// the string is not valid UTF-8.
var (
	cborNanoEnc = must(cbor.EncOptions{Time: cbor.TimeRFC3339Nano}.EncMode())
	cborNanoDec = must(cbor.DecOptions{UTF8: cbor.UTF8DecodeInvalid}.DecMode())
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// codecs lists the candidates in the order they appear in the tables.
var codecs = []codec{
	{
		name: "gob",
		// A fresh Encoder per value: each cached value is stored on its
		// own, so it must carry its own type description.
		marshal: func(v any) ([]byte, error) {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(v); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		},
		unmarshal: func(data []byte, v any) error {
			return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
		},
	},
	{name: "json", marshal: json.Marshal, unmarshal: json.Unmarshal},
	{name: "msgpack", marshal: msgpack.Marshal, unmarshal: msgpack.Unmarshal},
	// Default options: time.Time as an integer Unix time (whole seconds).
	{name: "cbor", marshal: cbor.Marshal, unmarshal: cbor.Unmarshal},
	{name: "cbor-nano", marshal: cborNanoEnc.Marshal, unmarshal: cborNanoDec.Unmarshal},
}

// value is one kind of cached value: a sample and a constructor for a fresh
// destination to decode into.
type value struct {
	name   string
	sample any
	fresh  func() any
}

var values = []value{
	{name: "product", sample: sampleProduct(1), fresh: func() any { return new(Product) }},
	{name: "counters", sample: Counters{Views: 48213, Likes: 1207, Shares: 93}, fresh: func() any { return new(Counters) }},
	{name: "products20", sample: sampleProducts(20), fresh: func() any { return new([]Product) }},
}

// updated is a UTC timestamp with a full nanosecond part, as a database
// with microsecond or nanosecond columns produces.
var updated = time.Date(2025, time.March, 14, 15, 9, 26, 535897932, time.UTC)

func sampleProduct(i int) Product {
	return Product{
		ID:      1_000_000 + int64(i),
		Name:    fmt.Sprintf("Organic cotton T-shirt, navy, size %d", i),
		Price:   19.99 + float64(i),
		Tags:    []string{"apparel", "cotton", "summer"},
		Updated: updated.Add(time.Duration(i) * time.Minute),
		Active:  i%3 != 0,
	}
}

func sampleProducts(n int) []Product {
	ps := make([]Product, n)
	for i := range ps {
		ps[i] = sampleProduct(i + 1)
	}
	return ps
}
