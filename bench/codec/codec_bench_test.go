package codec

import "testing"

// Names are BenchmarkOp/value=V/codec=C so that
// "benchstat -col /codec" lays the codecs side by side.

func BenchmarkMarshal(b *testing.B) {
	forEach(b, func(b *testing.B, c codec, v value) {
		var buf []byte
		var err error
		for b.Loop() {
			buf, err = c.marshal(v.sample)
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(buf)), "bytes")
	})
}

func BenchmarkUnmarshal(b *testing.B) {
	forEach(b, func(b *testing.B, c codec, v value) {
		buf, err := c.marshal(v.sample)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := c.unmarshal(buf, v.fresh()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(buf)), "bytes")
	})
}

// BenchmarkRoundTrip is a cache write followed by a cache read of the same
// value: encode, then decode into a fresh destination.
func BenchmarkRoundTrip(b *testing.B) {
	forEach(b, func(b *testing.B, c codec, v value) {
		var buf []byte
		var err error
		for b.Loop() {
			buf, err = c.marshal(v.sample)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.unmarshal(buf, v.fresh()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(buf)), "bytes")
	})
}

func forEach(b *testing.B, f func(*testing.B, codec, value)) {
	for _, v := range values {
		for _, c := range codecs {
			b.Run("value="+v.name+"/codec="+c.name, func(b *testing.B) {
				b.ReportAllocs()
				f(b, c, v)
			})
		}
	}
}
