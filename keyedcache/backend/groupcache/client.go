package groupcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// downFor is how long a peer that failed to answer is skipped: calls to
// it fail at once instead of waiting for a timeout again.
const downFor = time.Second

// maxBody bounds a message between peers.
const maxBody = 1 << 30

// Markers in error texts that cross groupcache's HTTP answers, which
// carry only a message: the requesting peer's transport reads them.
const (
	markPeerDown  = "keyedcache-peer-down: "
	markFillError = "keyedcache-fill-error: "
	markEnd       = " |" // ends the peer address after markPeerDown
)

// A PeerError reports a peer that did not answer, or refused.
type PeerError struct {
	Peer string // the peer's base URL
	Op   string // what was asked
	Err  error

	down bool // the peer did not answer (as opposed to refusing)
}

// Error names the peer, the operation and the cause.
func (e *PeerError) Error() string {
	return fmt.Sprintf("groupcache: peer %s: %s: %v", e.Peer, e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *PeerError) Unwrap() error { return e.Err }

// ErrPeerDown is the cause of a PeerError for a peer skipped because it
// failed to answer within the last second.
var ErrPeerDown = errors.New("peer is down (failed recently; retried after a second)")

// peers talks to the other peers: it keeps one HTTP transport, the
// per-request timeouts, and the list of peers that failed lately.
type peers struct {
	base        *http.Transport
	basePath    string
	peerTimeout time.Duration
	fillTimeout time.Duration
	fillPrefix  string // groupcache path prefix of fill groups

	mu   sync.Mutex
	down map[string]time.Time

	failures atomic.Int64 // requests that failed
}

func newPeers(o Options, fillPrefix string) *peers {
	d := &net.Dialer{Timeout: o.PeerTimeout, KeepAlive: 30 * time.Second}
	return &peers{
		base: &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   false,
		},
		basePath:    o.BasePath,
		peerTimeout: o.PeerTimeout,
		fillTimeout: o.FillTimeout,
		fillPrefix:  fillPrefix,
		down:        map[string]time.Time{},
	}
}

func (p *peers) isDown(peer string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	until, ok := p.down[peer]
	if ok && time.Now().After(until) {
		delete(p.down, peer)
		return false
	}
	return ok
}

func (p *peers) markDown(peer string) {
	p.mu.Lock()
	p.down[peer] = time.Now().Add(downFor)
	p.mu.Unlock()
}

// downList returns the peers skipped right now.
func (p *peers) downList() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	now := time.Now()
	for peer, until := range p.down {
		if now.Before(until) {
			out = append(out, peer)
		}
	}
	return out
}

// failed records a failed request to peer; a failure that is not the
// caller's own cancellation marks the peer down.
func (p *peers) failed(caller context.Context, peer string) {
	p.failures.Add(1)
	if caller.Err() == nil {
		p.markDown(peer)
	}
}

// do sends req to peer and returns its response, within timeout.
func (p *peers) do(ctx context.Context, peer string, req *request, timeout time.Duration) (*response, error) {
	fail := func(err error) (*response, error) {
		return nil, &PeerError{Peer: peer, Op: opName(req.op), Err: err}
	}
	unreachable := func(err error) (*response, error) {
		return nil, &PeerError{Peer: peer, Op: opName(req.op), Err: err, down: true}
	}
	if p.isDown(peer) {
		return unreachable(ErrPeerDown)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(rctx, http.MethodPost, peer+p.basePath+kcPath, bytes.NewReader(req.encode()))
	if err != nil {
		return fail(err)
	}
	hr.Header.Set("Content-Type", "application/octet-stream")
	res, err := p.base.RoundTrip(hr)
	if err != nil {
		p.failed(ctx, peer)
		return unreachable(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		p.failed(ctx, peer)
		return unreachable(err)
	}
	if res.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(body))))
	}
	resp, err := decodeResponse(body)
	if err != nil {
		return fail(err)
	}
	if resp.err != "" {
		return fail(errors.New(resp.err))
	}
	return resp, nil
}

// gcTransport is the transport groupcache's HTTPPool uses: it skips
// peers that are down, bounds each request (by FillTimeout for fill
// groups, PeerTimeout for the rest), and reads the markers in the error
// answers of other peers.
type gcTransport struct{ p *peers }

func (t gcTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := t.p
	peer := req.URL.Scheme + "://" + req.URL.Host
	if p.isDown(peer) {
		return nil, &PeerError{Peer: peer, Op: "groupcache get", Err: ErrPeerDown}
	}
	timeout := p.peerTimeout
	if strings.HasPrefix(req.URL.Path, p.basePath+p.fillPrefix) || strings.HasPrefix(req.URL.EscapedPath(), p.basePath+p.fillPrefix) {
		timeout = p.fillTimeout
	}
	caller := req.Context()
	ctx, cancel := context.WithTimeout(caller, timeout)
	res, err := p.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		p.failed(caller, peer)
		return nil, err
	}
	if res.StatusCode == http.StatusOK {
		res.Body = &cancelBody{ReadCloser: res.Body, cancel: cancel}
		return res, nil
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	cancel()
	msg := string(body)
	if i := strings.Index(msg, markPeerDown); i >= 0 {
		if down, _, ok := strings.Cut(msg[i+len(markPeerDown):], markEnd); ok {
			p.markDown(down)
		}
	}
	if i := strings.Index(msg, markFillError); i >= 0 {
		if rec := recorderFrom(caller); rec != nil {
			text := strings.TrimSpace(msg[i+len(markFillError):])
			rec.fillErr.Store(&remoteFillError{peer: peer, msg: text})
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// A recorder travels in the context of a groupcache Get so that the
// transport can tell the local getter what the owner answered.
type recorder struct {
	fillErr atomic.Pointer[remoteFillError]
}

type recorderKey struct{}

func withRecorder(ctx context.Context) (context.Context, *recorder) {
	r := &recorder{}
	return context.WithValue(ctx, recorderKey{}, r), r
}

func recorderFrom(ctx context.Context) *recorder {
	r, _ := ctx.Value(recorderKey{}).(*recorder)
	return r
}

// remoteFillError is a fill that failed in the owning peer.
type remoteFillError struct {
	peer, msg string
}

func (e *remoteFillError) Error() string {
	return fmt.Sprintf("groupcache: fill failed in peer %s: %s", e.peer, e.msg)
}
