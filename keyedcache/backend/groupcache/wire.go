package groupcache

import (
	"encoding/binary"
	"errors"
	"math"
)

// The peers' own protocol, next to groupcache's: one POST to
// BasePath+"!kc" whose body is a request and whose answer is a response,
// both in the small binary form below (uvarint lengths, varint numbers).
// It carries what groupcache cannot: writes to a key's owner, deletes,
// and generation bumps.

const wireVersion = 1

// Operations.
const (
	opPing byte = iota + 1
	opGet
	opSet
	opAdd
	opDelete
	opIncr
	opCAS
	opTouch
	opTTL
	opDeletePrefix
	opClear
	opScan
	opBump
	opFill      // a client's Fill: key, ttl, and the fill's name as value
	opScanAfter // a sorted listing's batch: prefix as key, the cursor as old, the batch size as delta
)

var opNames = [...]string{opPing: "ping", opGet: "get", opSet: "set", opAdd: "add", opDelete: "delete", opIncr: "incr", opCAS: "cas", opTouch: "touch", opTTL: "ttl", opDeletePrefix: "delete_prefix", opClear: "clear", opScan: "scan", opBump: "bump", opFill: "fill", opScanAfter: "scan_after"}

func opName(op byte) string {
	if int(op) < len(opNames) && opNames[op] != "" {
		return opNames[op]
	}
	return "unknown"
}

// Result codes.
const (
	codeOK byte = iota
	codeNotFound
	codeNotNumeric
	codeOverflow
	codeFillFailed // the fill returned an error, whose text is the value
	codeNoFill     // the fill's name is not registered in the peer
)

// A request asks a peer to do op on items of namespace ns, then apply
// bumps. ring identifies the sender's peer list: a peer with another list
// refuses, since the two would disagree on who owns what.
type request struct {
	ring  string
	ns    string
	op    byte
	items []item
	bumps []bump
}

// An item is one key of a request; which fields count depends on op.
type item struct {
	key   string
	value []byte
	old   []byte
	ttl   int64 // nanoseconds; 0: no expiry
	delta int64
}

// A response answers a request: err for a failed request, else one
// result per item, a count, and keys for opScan and opScanAfter (whose
// count is 1 when the peer may hold keys after the last one).
type response struct {
	err     string
	results []result
	n       int64
	keys    []string
}

type result struct {
	code     byte
	found    bool
	value    []byte
	deadline int64 // Unix nanoseconds; 0: none
	n        int64
}

var errWire = errors.New("groupcache: malformed message between peers")

type enc struct{ b []byte }

func (e *enc) byte(c byte)     { e.b = append(e.b, c) }
func (e *enc) uint(n uint64)   { e.b = binary.AppendUvarint(e.b, n) }
func (e *enc) int(n int64)     { e.b = binary.AppendVarint(e.b, n) }
func (e *enc) bytes(p []byte)  { e.uint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *enc) string(s string) { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) fixed(n uint64)  { e.b = binary.LittleEndian.AppendUint64(e.b, n) }
func (e *enc) bool(v bool) {
	if v {
		e.byte(1)
	} else {
		e.byte(0)
	}
}
func (e *enc) grow(n int) *enc { e.b = append(make([]byte, 0, n), e.b...); return e }

type dec struct {
	b   []byte
	err error
}

func (d *dec) fail() { d.err, d.b = errWire, nil }

func (d *dec) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *dec) uint() uint64 {
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[k:]
	return n
}

func (d *dec) int() int64 {
	n, k := binary.Varint(d.b)
	if k <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[k:]
	return n
}

func (d *dec) fixed() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	n := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return n
}

// bytes returns a slice of the message (no copy).
func (d *dec) bytes() []byte {
	n := d.uint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) string() string { return string(d.bytes()) }
func (d *dec) bool() bool     { return d.byte() == 1 }

// count reads a length that must fit in what is left, each element
// taking at least min bytes.
func (d *dec) count(min int) int {
	n := d.uint()
	if d.err == nil && n > uint64(len(d.b)/min) {
		d.fail()
		return 0
	}
	return int(n)
}

func (r *request) encode() []byte {
	size := 64 + len(r.ring) + len(r.ns) + 16*len(r.bumps)
	for _, it := range r.items {
		size += len(it.key) + len(it.value) + len(it.old) + 32
	}
	e := (&enc{}).grow(size)
	e.byte(wireVersion)
	e.string(r.ring)
	e.string(r.ns)
	e.byte(r.op)
	e.uint(uint64(len(r.items)))
	for _, it := range r.items {
		e.string(it.key)
		e.bytes(it.value)
		e.bytes(it.old)
		e.int(it.ttl)
		e.int(it.delta)
	}
	e.uint(uint64(len(r.bumps)))
	for _, b := range r.bumps {
		e.byte(b.table)
		e.uint(uint64(b.slot))
		e.fixed(b.token)
	}
	return e.b
}

func decodeRequest(p []byte) (*request, error) {
	d := &dec{b: p}
	if d.byte() != wireVersion {
		return nil, errWire
	}
	r := &request{ring: d.string(), ns: d.string(), op: d.byte()}
	r.items = make([]item, d.count(5))
	for i := range r.items {
		r.items[i] = item{key: d.string(), value: d.bytes(), old: d.bytes(), ttl: d.int(), delta: d.int()}
	}
	r.bumps = make([]bump, d.count(10))
	for i := range r.bumps {
		r.bumps[i] = bump{table: d.byte(), slot: uint32(min(d.uint(), math.MaxUint32)), token: d.fixed()}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return r, d.err
}

func (r *response) encode() []byte {
	size := 32 + len(r.err)
	for _, x := range r.results {
		size += len(x.value) + 24
	}
	for _, k := range r.keys {
		size += len(k) + 2
	}
	e := (&enc{}).grow(size)
	e.string(r.err)
	e.uint(uint64(len(r.results)))
	for _, x := range r.results {
		e.byte(x.code)
		e.bool(x.found)
		e.bytes(x.value)
		e.int(x.deadline)
		e.int(x.n)
	}
	e.int(r.n)
	e.uint(uint64(len(r.keys)))
	for _, k := range r.keys {
		e.string(k)
	}
	return e.b
}

func decodeResponse(p []byte) (*response, error) {
	d := &dec{b: p}
	r := &response{err: d.string()}
	r.results = make([]result, d.count(5))
	for i := range r.results {
		r.results[i] = result{code: d.byte(), found: d.bool(), value: d.bytes(), deadline: d.int(), n: d.int()}
	}
	r.n = d.int()
	r.keys = make([]string, d.count(1))
	for i := range r.keys {
		r.keys[i] = d.string()
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return r, d.err
}
