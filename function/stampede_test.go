package function_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/internal/testserver"
	_ "keyedcache.dev/keyedcache/backend/sqldb/postgres"
	_ "keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

// The stampede tests run 4 processes × 250 goroutines on one cold key
// per round, against every backend processes share, with the machine
// loaded by a busy loop per core that the test starts itself. Each round
// has a key of its own; the function appends a line per computation to a
// file of that round (opened O_APPEND, so lines of several processes
// never mix), which the parent counts. The backends keep their default
// timeouts: a loaded machine must not make a slow backend look like one
// that is down.

const (
	stampedeProcs   = 4
	stampedePerProc = 250
	stampedeWork    = 10 * time.Millisecond // how long a computation takes

	envStampedeURL    = "FUNCTION_STAMPEDE_URL"
	envStampedeDir    = "FUNCTION_STAMPEDE_DIR"
	envStampedeName   = "FUNCTION_STAMPEDE_NAME"
	envStampedeRounds = "FUNCTION_STAMPEDE_ROUNDS" // also read by the parent: more rounds for a soak run
)

// sharedBackend is a backend several processes share: its URL, and its
// server when it has one.
type sharedBackend struct {
	name   string
	server bool // it has a server process (which can be paused)
	open   func(t *testing.T) (url string, srv *testserver.Server)
}

var sharedBackends = []sharedBackend{
	{"redis", true, func(t *testing.T) (string, *testserver.Server) {
		s := testserver.Redis(t)
		return "redis://" + s.Addr, s
	}},
	{"memcached", true, func(t *testing.T) (string, *testserver.Server) {
		s := testserver.Memcached(t)
		return "memcached://" + s.Addr, s
	}},
	{"sqlite", false, func(t *testing.T) (string, *testserver.Server) {
		return "sqlite://" + filepath.Join(t.TempDir(), "cache.db"), nil
	}},
	{"postgres", true, func(t *testing.T) (string, *testserver.Server) {
		s := testserver.Postgres(t)
		return s.DSN, s
	}},
	{"file", false, func(t *testing.T) (string, *testserver.Server) {
		return "file://" + t.TempDir(), nil
	}},
}

// TestStampedeEveryBackend checks that on every shared backend, 20
// rounds of 4 processes × 250 goroutines asking for one cold key make
// exactly one computation each, and every caller gets its result.
func TestStampedeEveryBackend(t *testing.T) {
	if stampedeRole(t) {
		return
	}
	for _, bk := range sharedBackends {
		t.Run(bk.name, func(t *testing.T) {
			url, _ := bk.open(t)
			loadMachine(t)
			runStampede(t, url, stampedeRounds(20), nil)
		})
	}
}

// TestStampedeServerPaused checks exactly one computation per round when
// the server stops answering in the middle of the stampede (SIGSTOP) for
// longer than the backend's timeout, but less than a lease: reads and
// claims time out — and a claim that timed out may yet land — and the
// processes wait it out rather than compute.
func TestStampedeServerPaused(t *testing.T) {
	if stampedeRole(t) {
		return
	}
	const pauseFor = 1500 * time.Millisecond // > every default timeout (memcached 250 ms, SQL 500 ms, Redis 500–1000 ms), < DefaultLease
	for _, bk := range sharedBackends {
		if !bk.server {
			continue // a file: nothing to pause
		}
		t.Run(bk.name, func(t *testing.T) {
			url, srv := bk.open(t)
			loadMachine(t)
			runStampede(t, url, stampedeRounds(5), func(round int) {
				// Stop the server at a different moment of each round:
				// before the first read, between read and claim, or
				// while the others wait.
				time.Sleep(rand.N(20 * time.Millisecond))
				srv.Pause()
				time.Sleep(pauseFor)
				srv.Resume()
			})
		})
	}
}

func stampedeRounds(def int) int {
	if n, err := strconv.Atoi(os.Getenv(envStampedeRounds)); err == nil && n > 0 {
		return n
	}
	return def
}

// stampedeRole runs this process's part if it is a child, and reports
// whether it was one.
func stampedeRole(t *testing.T) bool {
	role, ok := testproc.Role()
	switch {
	case !ok:
		return false
	case role == "burn":
		burn()
	case role == "stampede":
		stampedeChild(t)
	default:
		t.Fatalf("unknown role %q", role)
	}
	return true
}

// loadMachine keeps every core busy while t runs: one child process per
// core spinning, as a loaded CI machine would be.
func loadMachine(t *testing.T) {
	for range runtime.NumCPU() {
		testproc.Start(t, "burn") // killed when t ends
	}
}

// burn spins until killed, or until its parent is gone or ten minutes
// have passed, whichever comes first.
func burn() {
	parent, deadline := os.Getppid(), time.Now().Add(10*time.Minute)
	for i := 0; ; i++ {
		if i%(1<<22) == 0 && (os.Getppid() != parent || time.Now().After(deadline)) {
			return
		}
	}
}

// runStampede runs the rounds: between the gate and the answers, during
// is called, if not nil, while the children's callers are at work.
func runStampede(t *testing.T, url string, rounds int, during func(round int)) {
	dir := t.TempDir()
	env := []string{envStampedeURL + "=" + url, envStampedeDir + "=" + dir, envStampedeName + "=" + uniqueName(t), envStampedeRounds + "=" + strconv.Itoa(rounds)}
	children := make([]*testproc.Proc, stampedeProcs)
	for i := range children {
		children[i] = testproc.Start(t, "stampede", env...)
	}
	start := time.Now()
	var walls []time.Duration
	for r := range rounds {
		for _, p := range children {
			p.WaitFor(t, fmt.Sprintf("ready %d:", r), 2*time.Minute)
		}
		gateAt := time.Now()
		touch(t, stampedeGate(dir, r))
		if during != nil {
			during(r)
		}
		var first string
		unclaimed := 0
		for i, p := range children {
			line := p.WaitFor(t, fmt.Sprintf("done %d:", r), 2*time.Minute)
			result, counts, _ := strings.Cut(line, "|")
			if i == 0 {
				first = result
			} else if result != first {
				t.Errorf("round %d: process %d got %q, process 0 got %q", r, i, result, first)
			}
			n, err := strconv.Atoi(strings.TrimPrefix(counts, "unclaimed="))
			if err != nil {
				t.Fatalf("round %d: bad report %q", r, line)
			}
			unclaimed += n
		}
		walls = append(walls, time.Since(gateAt))
		if got := lines(t, stampedeCount(dir, r)); len(got) != 1 {
			t.Errorf("round %d: %d computations (by pid: %v) for %d processes × %d goroutines, want exactly 1; %d computed without a claim", r, len(got), got, stampedeProcs, stampedePerProc, unclaimed)
			for _, p := range children {
				t.Logf("%s", p.Output())
			}
		}
	}
	// Only now may the children exit: a result whose store failed
	// during a pause is stored later, in the background, by the process
	// that computed it, and the others wait for it.
	touch(t, filepath.Join(dir, "exit"))
	for _, p := range children {
		p.Wait(t)
	}
	t.Logf("%d rounds in %v; gate to last answer: %v", rounds, time.Since(start).Round(time.Millisecond), summary(walls))
}

// summary gives the median and the largest of ds.
func summary(ds []time.Duration) string {
	s := append([]time.Duration(nil), ds...)
	for i := range s { // (few: insertion sort)
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return fmt.Sprintf("median %v, max %v", s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

func stampedeGate(dir string, round int) string {
	return filepath.Join(dir, "gate-"+strconv.Itoa(round))
}

func stampedeCount(dir string, round int) string {
	return filepath.Join(dir, "count-"+strconv.Itoa(round))
}

// stampedeChild is one process of the stampede: for each round it
// readies its goroutines, says "ready N:", waits for the round's gate,
// lets them all call at once and says "done N: <result>|unclaimed=<n>".
// At the end it waits for the parent's word to exit.
func stampedeChild(t *testing.T) {
	url, dir, name := os.Getenv(envStampedeURL), os.Getenv(envStampedeDir), os.Getenv(envStampedeName)
	rounds, err := strconv.Atoi(os.Getenv(envStampedeRounds))
	if err != nil {
		t.Fatal(err)
	}
	c := openCache(t, url)
	f := function.New(func(ctx context.Context, round int) (string, error) {
		if err := appendLine(stampedeCount(dir, round), strconv.Itoa(os.Getpid())); err != nil {
			return "", err
		}
		time.Sleep(stampedeWork)
		return fmt.Sprintf("round %d computed by %d", round, os.Getpid()), nil
	}, function.WithCache(c), function.WithName(name))
	var unclaimed uint64
	for r := range rounds {
		// Begin every round with a backend that answers this process: a
		// client that saw the last round's pause may refuse calls for a
		// moment after it (a breaker open), and a backend that refuses
		// is one the function computes without (Stats.Unclaimed).
		eventually(t, "the backend to answer", func() bool { return c.Require(context.Background()) == nil })
		gate := make(chan struct{})
		results := make([]string, stampedePerProc)
		errs := make([]error, stampedePerProc)
		var wg sync.WaitGroup
		for i := range stampedePerProc {
			wg.Go(func() {
				<-gate
				results[i], errs[i] = f.Call(context.Background(), r)
			})
		}
		fmt.Printf("ready %d:\n", r)
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Microsecond) {
			if _, err := os.Stat(stampedeGate(dir, r)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no gate after two minutes", r)
			}
		}
		close(gate)
		wg.Wait()
		for i := range results {
			if errs[i] != nil || results[i] != results[0] {
				t.Fatalf("round %d: caller %d got %q, %v; caller 0 got %q", r, i, results[i], errs[i], results[0])
			}
		}
		st := f.Stats()
		fmt.Printf("done %d: %s|unclaimed=%d\n", r, results[0], st.Unclaimed-unclaimed)
		fmt.Fprintf(os.Stderr, "stats %d: %+v\n", r, st)
		unclaimed = st.Unclaimed
	}
	waitFile(t, filepath.Join(dir, "exit"))
}
