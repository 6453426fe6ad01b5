package backendtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/keyedcache"
)

// Environment of InvalidationUnderFaults's reading child.
const (
	envInvURL    = "KEYEDCACHE_INV_URL"
	envInvPrefix = "KEYEDCACHE_INV_PREFIX"
	envInvState  = "KEYEDCACHE_INV_STATE"
	envInvStop   = "KEYEDCACHE_INV_STOP"
)

// The load of InvalidationUnderFaults.
const (
	invWorkers   = 32                     // goroutines calling the cached functions
	invHotKeys   = 4                      // arguments of the function deleted key by key
	invTreeItems = 4                      // results of the function deleted with children
	invEvery     = 100 * time.Millisecond // between two deletes
	invHang      = 5 * time.Second        // how long the server is stopped (SIGSTOP)
	invCallBound = 15 * time.Second       // a call taking longer is a hang, not a slow call
)

// invVal is a cached result: the argument and the version of its source
// it was computed from. A result whose version is below the version a
// delete made stale, read after that delete returned, is a stale read.
type invVal struct {
	Key int
	Ver int64
}

// invState is what the deleting process tells the reading one, in a
// file it replaces whole.
type invState struct {
	// Keys[k] (and Tree) is the lowest version not made stale by a
	// delete of hot key k (of the tree) that had returned when the state
	// was written.
	Keys []int64
	Tree int64
	// Settled is true when, after those deletes returned, the deleting
	// process had no invalidation queued: every one of them had reached
	// the server.
	Settled bool
}

// invFuncs returns the two cached functions both processes share: one
// keyed by a hot key and deleted key by key, one of (group, item) whose
// results are deleted together, with children.
func invFuncs(c *keyedcache.Cache, name string, hot func(k int) int64, tree func() int64) (*function.Func[int, invVal], *function.Func2[int, int, invVal]) {
	opts := []function.Option{function.WithCache(c), function.WithLease(2 * time.Second)}
	f := function.New(func(_ context.Context, k int) (invVal, error) {
		return invVal{Key: k, Ver: hot(k)}, nil
	}, append(opts, function.WithName(name+".hot"))...)
	g := function.New2(func(_ context.Context, _, item int) (invVal, error) {
		return invVal{Key: item, Ver: tree()}, nil
	}, append(opts, function.WithName(name+".tree"))...)
	return f, g
}

// invPhase is a stretch of InvalidationUnderFaults's timeline.
type invPhase int32

const (
	phaseUp       invPhase = iota // server up, before any fault
	phaseHung                     // SIGSTOP
	phaseResumed                  // SIGCONT, and until the replay ends
	phaseDead                     // SIGKILL
	phaseRestored                 // restarted, empty
	phases
)

var phaseNames = [phases]string{"up", "hung", "resumed", "dead", "restarted"}

// invFigures are what the callers of one phase saw.
type invFigures struct {
	calls, errs, stale int
	lat                []time.Duration
	staleExample       string
}

// InvalidationUnderFaults checks that a delete is never lost to a
// server failure: 32 goroutines call two cached functions on a few hot
// keys while another goroutine deletes a hot key, or one function's
// results with children, every 100 ms; meanwhile the server is stopped
// (SIGSTOP) for 5 s and resumed, later killed (SIGKILL) and restarted.
// Results carry the version of their source, so a stale read — a result
// older than a delete that had returned before the call began — is
// counted. The deleting process must see none, at any time; a child
// process reading the same keys (through Peek, as another process
// would) must see none once the deleting process has replayed what it
// queued (it may while the server is unreachable: that window is
// counted and logged). No call may fail, and every call must end within
// invCallBound; latency is logged per phase.
//
// start is called only in the parent: it starts the server and returns
// the URL (default timeouts) and the server. The test that calls
// InvalidationUnderFaults must not do anything else before it, because
// the child runs the same test function.
func InvalidationUnderFaults(t *testing.T, start func(t *testing.T) (url string, srv Server)) {
	if role, ok := testproc.Role(); ok {
		if role != "inv-reader" {
			t.Fatalf("backendtest: unknown child role %q", role)
		}
		invReader(t)
		return
	}
	u, srv := start(t)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	prefix := "inv" + hex.EncodeToString(rnd[:])
	dir := t.TempDir()
	statePath, stopPath := filepath.Join(dir, "state"), filepath.Join(dir, "stop")
	c := openURL(t, u, prefix)
	bg := context.Background()

	var source [invHotKeys]atomic.Int64 // the "database": bumped before each delete
	var sourceTree atomic.Int64
	var fresh [invHotKeys]atomic.Int64 // versions made stale by deletes that returned
	var freshTree atomic.Int64
	f, g := invFuncs(c, prefix, func(k int) int64 { return source[k].Load() }, sourceTree.Load)

	writeState := func() {
		st := invState{Keys: make([]int64, invHotKeys), Tree: freshTree.Load()}
		for k := range fresh {
			st.Keys[k] = fresh[k].Load()
		}
		st.Settled = c.Stats().PendingInvalidations == 0 // read after the versions
		data, _ := json.Marshal(st)
		tmp := statePath + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err == nil {
			_ = os.Rename(tmp, statePath)
		}
	}
	writeState()
	child := testproc.Start(t, "inv-reader", envInvURL+"="+u, envInvPrefix+"="+prefix,
		envInvState+"="+statePath, envInvStop+"="+stopPath)
	child.WaitFor(t, "reading", 60*time.Second)

	var phase atomic.Int32
	var ended [phases]atomic.Int64 // calls that ended in each phase
	var stop atomic.Bool
	var wg sync.WaitGroup
	figures := make([][phases]invFigures, invWorkers)
	for w := range invWorkers {
		wg.Go(func() {
			fig := &figures[w]
			for i := 0; !stop.Load(); i++ {
				var v invVal
				var err error
				var want int64
				var what string
				begin := time.Now()
				if i%2 == 0 {
					k := mrand.N(invHotKeys)
					want = fresh[k].Load()
					v, err = f.Call(bg, k)
					what = "hot key " + strconv.Itoa(k)
				} else {
					item := mrand.N(invTreeItems)
					want = freshTree.Load()
					v, err = g.Call(bg, 0, item)
					what = "tree item " + strconv.Itoa(item)
				}
				took := time.Since(begin)
				p := phase.Load()
				ended[p].Add(1)
				ph := &fig[p]
				ph.calls++
				ph.lat = append(ph.lat, took)
				if err != nil {
					ph.errs++
				} else if v.Ver < want {
					ph.stale++
					ph.staleExample = fmt.Sprintf("%s: version %d, after a delete that made version %d current had returned", what, v.Ver, want)
				}
			}
		})
	}

	var deletes, deleteErrs atomic.Int64
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			time.Sleep(invEvery)
			var err error
			if i%2 == 0 {
				k := i / 2 % invHotKeys
				v := source[k].Add(1)
				err = f.Delete(bg, k)
				fresh[k].Store(v)
			} else {
				v := sourceTree.Add(1)
				err = g.DeleteAll(bg) // func::<name> with children
				freshTree.Store(v)
			}
			deletes.Add(1)
			if err != nil {
				deleteErrs.Add(1)
				if !errors.Is(err, keyedcache.ErrInvalidationPending) {
					t.Errorf("a delete failed without being queued: %v", err)
				}
			}
		}
	})
	wg.Go(func() {
		for !stop.Load() {
			writeState()
			time.Sleep(10 * time.Millisecond)
		}
	})

	settle := func(what string) {
		deadline := time.Now().Add(30 * time.Second)
		for c.Stats().PendingInvalidations != 0 {
			if time.Now().After(deadline) {
				t.Errorf("%s: invalidations still queued after 30s: %+v", what, c.Stats())
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// hold keeps the current phase for d, and then until a call has
	// ended in it: on a loaded machine none may have within d (the first
	// calls, which compute under a lease, can take over a second).
	hold := func(d time.Duration) {
		time.Sleep(d)
		p := phase.Load()
		for deadline := time.Now().Add(2 * invCallBound); ended[p].Load() == 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	hold(time.Second)
	phase.Store(int32(phaseHung))
	srv.Pause()
	hold(invHang)
	srv.Resume()
	phase.Store(int32(phaseResumed))
	settle("after SIGCONT")
	hold(time.Second)
	phase.Store(int32(phaseDead))
	srv.Kill()
	hold(time.Second)
	srv.Restart()
	phase.Store(int32(phaseRestored))
	settle("after the restart")
	hold(time.Second)
	stop.Store(true)
	wg.Wait()
	writeState()
	time.Sleep(100 * time.Millisecond) // the child reads the final state
	if err := os.WriteFile(stopPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	line := child.WaitFor(t, "figures:", 60*time.Second)
	child.Wait(t)

	st := c.Stats()
	t.Logf("deleting process: %d deletes (%d queued while the server was unreachable); stats: %d errors, %d replayed, %d overflowed, %d pending",
		deletes.Load(), deleteErrs.Load(), st.Errors, st.ReplayedInvalidations, st.OverflowedInvalidations, st.PendingInvalidations)
	fs, gs := f.Stats(), g.Stats()
	t.Logf("cached functions: %d calls, %d hits, %d computations, %d discarded, %d errors counted (backend)",
		fs.Calls+gs.Calls, fs.Hits+gs.Hits, fs.Computations+gs.Computations, fs.Discarded+gs.Discarded, fs.Errors+gs.Errors)
	for p := range phases {
		var sum invFigures
		for w := range figures {
			ph := figures[w][p]
			sum.calls += ph.calls
			sum.errs += ph.errs
			sum.stale += ph.stale
			sum.lat = append(sum.lat, ph.lat...)
			if ph.staleExample != "" {
				sum.staleExample = ph.staleExample
			}
		}
		slices.Sort(sum.lat)
		var p50, p99, worst time.Duration
		if n := len(sum.lat); n > 0 {
			p50, p99, worst = sum.lat[n/2], sum.lat[n*99/100], sum.lat[n-1]
		}
		t.Logf("phase %-9s %7d calls, %d errors, %d stale; latency p50 %v p99 %v max %v",
			phaseNames[p], sum.calls, sum.errs, sum.stale, p50, p99, worst)
		if sum.stale > 0 {
			t.Errorf("phase %s: %d stale reads in the deleting process, e.g. %s", phaseNames[p], sum.stale, sum.staleExample)
		}
		if sum.errs > 0 {
			t.Errorf("phase %s: %d calls returned an error; a cached function must compute when the cache fails", phaseNames[p], sum.errs)
		}
		if worst > invCallBound {
			t.Errorf("phase %s: a call took %v", phaseNames[p], worst)
		}
		if sum.calls == 0 {
			t.Errorf("phase %s: no call was made", phaseNames[p])
		}
	}
	if st.ReplayedInvalidations == 0 {
		t.Error("no invalidation was queued and replayed: the faults did not test the queue")
	}
	if st.PendingInvalidations != 0 {
		t.Errorf("%d invalidations still pending at the end", st.PendingInvalidations)
	}

	t.Logf("reading process: %s", line)
	var reads, settled, staleSettled, staleWindow int
	if _, err := fmt.Sscanf(line, "reads=%d settled=%d stale_settled=%d stale_window=%d", &reads, &settled, &staleSettled, &staleWindow); err != nil {
		t.Fatalf("the child's figures %q: %v", line, err)
	}
	if reads == 0 || settled == 0 {
		t.Errorf("the child read %d results, %d of them after a replay: too few to tell anything", reads, settled)
	}
	if staleSettled != 0 {
		t.Errorf("the child read %d stale results after the deleting process had replayed its deletes:\n%s", staleSettled, child.Output())
	}
}

// invReader is the child of InvalidationUnderFaults: it reads the hot
// results as another process would, without computing, until the stop
// file appears, and prints what it saw.
func invReader(t *testing.T) {
	u, prefix := os.Getenv(envInvURL), os.Getenv(envInvPrefix)
	statePath, stopPath := os.Getenv(envInvState), os.Getenv(envInvStop)
	if u == "" || prefix == "" || statePath == "" || stopPath == "" {
		t.Fatal("backendtest: the reading child is missing its environment")
	}
	c := openURL(t, u, prefix)
	never := func() int64 { panic("backendtest: the reading child must not compute") }
	f, g := invFuncs(c, prefix, func(int) int64 { return never() }, never)
	bg := context.Background()
	fmt.Println("reading")
	var reads, settled, staleSettled, staleWindow, misses, errs int
	var examples []string
	check := func(st *invState, what string, v invVal, err error, want int64) {
		var miss *keyedcache.NotCachedError
		switch {
		case errors.As(err, &miss) && miss.Err == nil:
			misses++
			return
		case err != nil: // the server did not answer
			errs++
			return
		}
		reads++
		if st.Settled {
			settled++
		}
		if v.Ver >= want {
			return
		}
		if !st.Settled {
			staleWindow++
			return
		}
		staleSettled++
		if len(examples) < 5 {
			examples = append(examples, fmt.Sprintf("%s: version %d, after a delete that made version %d current had reached the server", what, v.Ver, want))
		}
	}
	for {
		if _, err := os.Stat(stopPath); err == nil {
			break
		}
		data, err := os.ReadFile(statePath)
		var st invState
		if err != nil || json.Unmarshal(data, &st) != nil || len(st.Keys) != invHotKeys {
			continue // being replaced
		}
		for k := range invHotKeys {
			v, err := f.Peek(bg, k)
			check(&st, "hot key "+strconv.Itoa(k), v, err, st.Keys[k])
		}
		for item := range invTreeItems {
			v, err := g.Peek(bg, 0, item)
			check(&st, "tree item "+strconv.Itoa(item), v, err, st.Tree)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if len(examples) > 0 {
		fmt.Println("stale after the replay: " + strings.Join(examples, "; "))
	}
	fmt.Printf("figures: reads=%d settled=%d stale_settled=%d stale_window=%d misses=%d errors=%d\n",
		reads, settled, staleSettled, staleWindow, misses, errs)
}
