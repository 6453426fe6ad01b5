package groupcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	gc "github.com/golang/groupcache"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

// A space is one namespace in this process: the entries this peer owns,
// its generation tables, its groupcache group for Get and its fill
// groups. Spaces are made on first use (by a Backend or by a peer's
// request) and kept for the life of the process, as groupcache keeps
// its groups.
type space struct {
	n     *node
	ns    string
	store *memory.Store
	gens  *gens
	get   *gc.Group

	fillMu sync.Mutex
	fills  map[string]*fillGroup
}

// exec carries out a request on this peer's own entries, then applies
// its bumps: a value is in place before any peer's stamp moves past it.
func (sp *space) exec(ctx context.Context, req *request) *response {
	resp := &response{}
	st := sp.store
	var err error
	switch req.op {
	case opPing, opBump:
	case opFill:
		resp.results = make([]result, len(req.items))
		for i, it := range req.items {
			resp.results[i] = sp.fillHere(ctx, it)
		}
	case opGet:
		now := time.Now()
		resp.results = make([]result, len(req.items))
		for i, it := range req.items {
			v, found, _ := st.Get(ctx, it.key)
			var left time.Duration
			if found {
				left, found, _ = st.TTL(ctx, it.key)
			}
			r := result{found: found}
			if found {
				r.value = v
				if left != backend.NoExpiry {
					r.deadline = now.Add(left).UnixNano()
				}
			}
			resp.results[i] = r
		}
	case opSet:
		for _, it := range req.items {
			if err = st.Set(ctx, it.key, it.value, time.Duration(it.ttl)); err != nil {
				break
			}
		}
	case opAdd:
		resp.results = make([]result, len(req.items))
		for i, it := range req.items {
			resp.results[i].found, err = st.Add(ctx, it.key, it.value, time.Duration(it.ttl))
		}
	case opDelete:
		resp.results = make([]result, len(req.items))
		for i, it := range req.items {
			resp.results[i].found, err = st.Delete(ctx, it.key)
		}
	case opIncr:
		resp.results = make([]result, len(req.items))
		for i, it := range req.items {
			n, ierr := st.Incr(ctx, it.key, it.delta)
			resp.results[i] = result{code: codeOf(ierr), n: n}
		}
	case opCAS:
		resp.results = make([]result, len(req.items))
		for i, it := range req.items {
			resp.results[i].found, err = st.CompareAndSwap(ctx, it.key, it.old, it.value, time.Duration(it.ttl))
		}
	case opTouch:
		resp.results = make([]result, len(req.items))
		for i, it := range req.items {
			resp.results[i].code = codeOf(st.Touch(ctx, it.key, time.Duration(it.ttl)))
		}
	case opTTL:
		resp.results = make([]result, len(req.items))
		for i, it := range req.items {
			left, found, _ := st.TTL(ctx, it.key)
			resp.results[i] = result{found: found, n: int64(left)}
		}
	case opDeletePrefix:
		for _, it := range req.items {
			var n int
			n, err = st.DeletePrefix(ctx, it.key)
			resp.n += int64(n)
		}
	case opClear:
		err = st.Clear(ctx)
	case opScan:
		for _, it := range req.items {
			_, err = st.ScanKeys(ctx, it.key, func(k string) bool {
				resp.keys = append(resp.keys, k)
				return true
			})
		}
	case opScanAfter:
		if len(req.items) != 1 {
			err = errWire
			break
		}
		err = scanAfter(ctx, sp, req.items[0], resp)
	default:
		err = fmt.Errorf("unknown operation %d", req.op)
	}
	if sp.gens != nil {
		for _, b := range req.bumps {
			sp.gens.apply(b)
		}
	}
	if err != nil {
		resp.err = err.Error()
	}
	return resp
}

func codeOf(err error) byte {
	switch {
	case err == nil:
		return codeOK
	case errors.Is(err, backend.ErrNotFound):
		return codeNotFound
	case errors.Is(err, backend.ErrNotNumeric):
		return codeNotNumeric
	case errors.Is(err, backend.ErrOverflow):
		return codeOverflow
	}
	return codeNotFound
}

func errOf(code byte) error {
	switch code {
	case codeNotFound:
		return backend.ErrNotFound
	case codeNotNumeric:
		return backend.ErrNotNumeric
	case codeOverflow:
		return backend.ErrOverflow
	}
	return nil
}

// load is the getter of the Get group: it runs in the peer groupcache
// picked for a groupcache key (or in the asking peer when that one does
// not answer) and fetches the entry from the key's owner.
func (sp *space) load(ctx context.Context, gk string, dest gc.Sink) error {
	key, ok := keyOf(gk)
	if !ok {
		return fmt.Errorf("groupcache: malformed key %q", gk)
	}
	owner := sp.n.owner(key)
	// Half the peer timeout, so that a peer asking us through groupcache
	// hears that the owner is down before its own request times out.
	resp, err := sp.n.call(ctx, sp, owner, &request{op: opGet, items: []item{{key: key}}}, sp.n.opts.PeerTimeout/2)
	if err != nil {
		var pe *PeerError
		if errors.As(err, &pe) && pe.down {
			return &ownerDownError{pe}
		}
		return err
	}
	if len(resp.results) != 1 {
		return errWire
	}
	r := resp.results[0]
	return dest.SetBytes(makeBlob(r.found, r.value, r.deadline))
}

// ownerDownError is a Get whose owner did not answer. Its text, which
// groupcache sends to the peer that asked, carries a marker with which
// that peer's transport learns that the owner is down.
type ownerDownError struct{ *PeerError }

func (e *ownerDownError) Error() string {
	return markPeerDown + e.Peer + markEnd + e.PeerError.Error()
}

func (e *ownerDownError) Unwrap() error { return e.PeerError }
