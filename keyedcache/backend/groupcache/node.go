package groupcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gc "github.com/golang/groupcache"
	"github.com/golang/groupcache/consistenthash"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

// replicas is the number of points each peer has on the hash rings (the
// same as groupcache's default).
const replicas = 50

// kcPath is the path, under BasePath, of the peers' own protocol. Its
// "!" cannot begin a group name of ours.
const kcPath = "!kc"

// A node is this process's peer: groupcache's HTTP pool, which
// groupcache allows once per process, the owner ring, the namespaces and
// the HTTP handler. It lives until the process exits. A client node
// (no Self) has no pool, no handler and no entries; a process may have
// several, one per configuration, next to its peer node.
type node struct {
	opts   Options // node-wide fields only; Namespace and Logger unused
	client bool
	ring   string // identifies the peer list
	pool   *gc.HTTPPool
	owners *consistenthash.Map
	peers  *peers
	srv    *http.Server // nil when the caller mounts Handler
	log    *slog.Logger

	mu     sync.Mutex
	spaces map[string]*space
	queues sync.Map // peer+" "+namespace → *bumpQueue

	bumpFailures atomic.Int64 // bumps a peer missed
	lastLog      atomic.Int64
}

var (
	procMu  sync.Mutex
	proc    *node
	clients = map[string]*node{}
)

// attach returns the process's node, starting it on first use. Every
// later call must agree with the first on the node-wide options. A
// client gets the client node of its options.
func attach(o Options) (*node, error) {
	procMu.Lock()
	defer procMu.Unlock()
	if o.Self == "" {
		key := fmt.Sprint(o.nodeFields())
		if n := clients[key]; n != nil {
			return n, nil
		}
		n := newNode(o)
		n.client = true
		clients[key] = n
		return n, nil
	}
	if n := proc; n != nil {
		have := n.opts.nodeFields()
		for i, f := range o.nodeFields() {
			if f[2] != have[i][2] {
				return nil, &backend.ConfigError{
					Param: f[1], Value: f[2],
					Reason: fmt.Sprintf("this process already runs a groupcache node with %s %s; groupcache allows one node per process, so every groupcache:// URL (and New) in a process must agree on it (namespace may differ)", f[0], have[i][2]),
				}
			}
		}
		return n, nil
	}
	n := newNode(o)
	var ln net.Listener
	if !o.Mount {
		u, _ := url.Parse(o.Self)
		var err error
		if ln, err = net.Listen("tcp", u.Host); err != nil {
			return nil, fmt.Errorf("groupcache: listen on %s: %w", u.Host, err)
		}
	}
	pool, err := newPool(o)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, err
	}
	pool.Transport = func(context.Context) http.RoundTripper { return gcTransport{n.peers} }
	pool.Set(o.Peers...)
	n.pool = pool
	if ln != nil {
		n.srv = &http.Server{Handler: n, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn)}
		go n.srv.Serve(ln)
	}
	proc = n
	return n, nil
}

// newNode makes a node with no pool nor listener yet.
func newNode(o Options) *node {
	sum := sha256.Sum256([]byte(strings.Join(o.Peers, ",")))
	n := &node{opts: o, ring: hex.EncodeToString(sum[:4]), spaces: map[string]*space{}, log: o.Logger}
	n.peers = newPeers(o, "kc."+n.ring+".fill.")
	n.owners = consistenthash.New(replicas, nil)
	n.owners.Add(o.Peers...)
	return n
}

// newPool makes groupcache's pool, turning groupcache's panic when a pool
// already exists (made by someone else in this process) into an error.
func newPool(o Options) (pool *gc.HTTPPool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("groupcache: this process already has a groupcache peer pool or picker (%v); groupcache allows one per process", r)
		}
	}()
	return gc.NewHTTPPoolOpts(o.Self, &gc.HTTPPoolOptions{BasePath: o.BasePath, Replicas: replicas}), nil
}

// Handler returns the HTTP handler of this process's node, for a caller
// that serves it on its own server (listen=false, Options.Mount): mount
// it at the base path ("/_groupcache/" unless base_path says otherwise)
// of the server Self names, as it is, without stripping the prefix. It
// answers 503 until a peer (not a client) Backend is opened in the
// process.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		procMu.Lock()
		n := proc
		procMu.Unlock()
		if n == nil {
			http.Error(w, "groupcache: no node in this process yet", http.StatusServiceUnavailable)
			return
		}
		n.ServeHTTP(w, r)
	})
}

// ServeHTTP serves groupcache's requests and the peers' own protocol.
func (n *node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, n.opts.BasePath)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest == kcPath {
		n.serveKC(w, r)
		return
	}
	group, _, _ := strings.Cut(rest, "/")
	if ns, ok := strings.CutPrefix(group, "kc."+n.ring+".get."); ok && validName(ns) {
		n.space(ns) // a peer asks for a namespace this process has not opened
	}
	n.pool.ServeHTTP(w, r)
}

func (n *node) serveKC(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	req, err := decodeRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.ring != n.ring {
		n.warn("a peer with another peer list called", "from", r.RemoteAddr, "its_ring", req.ring, "our_ring", n.ring, "our_peers", strings.Join(n.opts.Peers, ","))
		http.Error(w, "groupcache: peer lists differ (every peer must list the same peers: "+strings.Join(n.opts.Peers, ",")+")", http.StatusConflict)
		return
	}
	if !validName(req.ns) {
		http.Error(w, "bad namespace", http.StatusBadRequest)
		return
	}
	resp := n.space(req.ns).exec(r.Context(), req)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(resp.encode())
}

// owner returns the peer that stores key's Set entries.
func (n *node) owner(key string) string { return n.owners.Get(key) }

// call runs req on peer: in this process when peer is this one.
func (n *node) call(ctx context.Context, sp *space, peer string, req *request, timeout time.Duration) (*response, error) {
	req.ring, req.ns = n.ring, sp.ns
	if peer == n.opts.Self {
		resp := sp.exec(ctx, req)
		if resp.err != "" {
			return nil, errors.New(resp.err)
		}
		return resp, nil
	}
	return n.peers.do(ctx, peer, req, timeout)
}

// space returns the namespace ns, making it on first use.
func (n *node) space(ns string) *space {
	n.mu.Lock()
	defer n.mu.Unlock()
	if sp, ok := n.spaces[ns]; ok {
		return sp
	}
	sp := &space{n: n, ns: ns, fills: map[string]*fillGroup{}}
	if !n.client {
		store, err := memory.New(memory.Options{MaxEntries: n.opts.MaxEntries, MaxBytes: n.opts.MaxBytes})
		if err != nil {
			panic(err) // the bounds were checked when the node started
		}
		sp.store, sp.gens = store, new(gens)
		sp.get = newGroup("kc."+n.ring+".get."+ns, n.opts.CacheBytes, gc.GetterFunc(sp.load))
	}
	n.spaces[ns] = sp
	return sp
}

// newGroup makes a groupcache group, or returns the one this process
// already has under name.
func newGroup(name string, cacheBytes int64, g gc.Getter) *gc.Group {
	if existing := gc.GetGroup(name); existing != nil {
		return existing
	}
	return gc.NewGroup(name, cacheBytes, g)
}

// logEvery spaces out warnings about peers: one per burst.
const logEvery = 10 * time.Second

func (n *node) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := n.lastLog.Load()
	if now-last < int64(logEvery) || !n.lastLog.CompareAndSwap(last, now) {
		return
	}
	n.log.Warn("keyedcache groupcache: "+msg, args...)
}
