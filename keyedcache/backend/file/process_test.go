package file

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The multi-process tests start this test binary again as child
// processes that run TestHelperProcess in a role chosen by environment
// variables. The children open their own Store on the parent's directory,
// wait at a barrier so that they start together, and print one
// "result: …" line per outcome on standard output.
const (
	envRole = "KEYEDCACHE_FILE_HELPER_ROLE"
	envDir  = "KEYEDCACHE_FILE_HELPER_DIR"
	envSync = "KEYEDCACHE_FILE_HELPER_SYNC"
	envID   = "KEYEDCACHE_FILE_HELPER_ID"

	processes   = 4
	incrsEach   = 200 // per process, shared by routinesPer goroutines
	addKeys     = 100
	routinesPer = 2 // goroutines per child process
	treeWrites  = 400
)

func TestHelperProcess(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		t.Skip("a child process of the multi-process tests; it does nothing on its own")
	}
	id := os.Getenv(envID)
	s, err := New(os.Getenv(envDir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	barrier(t, os.Getenv(envSync), id)
	ctx := context.Background()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out = bufio.NewWriter(os.Stdout)
	)
	defer out.Flush()
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "result: "+format+"\n", args...)
	}
	for g := range routinesPer {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch role {
			case "incr":
				for range incrsEach / routinesPer {
					if _, err := s.Incr(ctx, "counter", 1); err != nil {
						t.Errorf("Incr: %v", err)
						return
					}
				}
			case "add":
				who := fmt.Sprintf("%s/%d", id, g)
				for i := range addKeys {
					key := fmt.Sprint("lease-", i)
					ok, err := s.Add(ctx, key, []byte(who), time.Minute)
					if err != nil {
						t.Errorf("Add: %v", err)
						return
					}
					if ok {
						report("%s %s", key, who)
					}
				}
			case "tree":
				for i := range treeWrites {
					key := fmt.Sprintf("t::%s::%d::%d", id, g, i%20)
					var err error
					switch i % 4 {
					case 0, 1:
						err = s.Set(ctx, key, []byte("1"), time.Hour)
					case 2:
						_, err = s.Add(ctx, key+"::leaf", []byte("1"), time.Hour)
					case 3:
						_, err = s.Delete(ctx, key)
					}
					if err != nil {
						t.Errorf("%s: %v", key, err)
						return
					}
				}
			default:
				t.Errorf("unknown role %q", role)
			}
		}()
	}
	wg.Wait()
}

// barrier announces that child id is ready and waits for the parent's go.
func barrier(t *testing.T, dir, id string) {
	if err := os.WriteFile(filepath.Join(dir, "ready-"+id), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); !exists(filepath.Join(dir, "go")); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no go from the parent")
		}
	}
}

// runChildren runs n children in role on dir, releases them together,
// and returns the results they reported.
func runChildren(t *testing.T, role, dir string, n int) []string {
	t.Helper()
	if !crossProcess {
		t.Skip("locks are not shared between processes on this system")
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	syncDir := t.TempDir()
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envRole+"="+role, envDir+"="+dir, envSync+"="+syncDir, envID+"="+strconv.Itoa(i))
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for {
		ready, _ := filepath.Glob(filepath.Join(syncDir, "ready-*"))
		if len(ready) == n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("children not ready: %d of %d", len(ready), n)
		}
		time.Sleep(time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(syncDir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var results []string
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, outs[i])
		}
		for line := range strings.Lines(outs[i].String()) {
			if r, ok := strings.CutPrefix(strings.TrimSpace(line), "result: "); ok {
				results = append(results, r)
			}
		}
	}
	return results
}

func TestMultiProcessIncr(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	mustSet(t, s, "counter", "0", time.Hour)
	runChildren(t, "incr", dir, processes)
	if diff := cmp.Diff(hit{strconv.Itoa(processes * incrsEach), true}, getHit(t, s, "counter")); diff != "" {
		t.Errorf("counter after %d processes × %d Incr (-want +got):\n%s", processes, incrsEach, diff)
	}
	if left, ok, _ := s.TTL(context.Background(), "counter"); !ok || left <= 0 || left > time.Hour {
		t.Errorf("TTL after Incr = %v, %v; want the original hour, less time passed", left, ok)
	}
}

func TestMultiProcessAdd(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	// Half the keys hold an entry that has already expired, which an Add
	// must treat as absent.
	for i := 0; i < addKeys; i += 2 {
		mustSet(t, s, fmt.Sprint("lease-", i), "expired", time.Nanosecond)
	}
	results := runChildren(t, "add", dir, processes)
	winners := map[string][]string{}
	for _, r := range results {
		key, who, _ := strings.Cut(r, " ")
		winners[key] = append(winners[key], who)
	}
	for i := range addKeys {
		key := fmt.Sprint("lease-", i)
		if len(winners[key]) != 1 {
			t.Errorf("%s: winners %q, want exactly one", key, winners[key])
			continue
		}
		if diff := cmp.Diff(hit{winners[key][0], true}, getHit(t, s, key)); diff != "" {
			t.Errorf("%s: stored value is not the winner's (-want +got):\n%s", key, diff)
		}
	}
	// Every process should have won something: a sign they ran together.
	procs := map[string]bool{}
	for _, ws := range winners {
		for _, w := range ws {
			procs[strings.Split(w, "/")[0]] = true
		}
	}
	t.Logf("%d of %d processes won at least one key", len(procs), processes)
}

// Processes write and delete keys under t:: while this one deletes the
// prefix over and over. Once they are done, one more DeletePrefix must
// leave no key under t::, and every entry must have its marker: no write
// of another process escapes the prefix tree.
func TestMultiProcessDeletePrefix(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{MaxEntries: 100000})
	ctx := context.Background()
	done := make(chan struct{})
	var deletes int
	go func() {
		defer close(done)
		for !exists(filepath.Join(dir, "stop")) {
			if _, err := s.DeletePrefix(ctx, "t::"); err != nil {
				t.Errorf("DeletePrefix: %v", err)
				return
			}
			deletes++
		}
	}()
	runChildren(t, "tree", dir, processes)
	os.WriteFile(filepath.Join(dir, "stop"), nil, 0o600)
	<-done
	checkMarkers(t, s)
	if _, err := s.DeletePrefix(ctx, "t::"); err != nil {
		t.Fatal(err)
	}
	for _, k := range entryKeys(t, s) {
		if strings.HasPrefix(k, "t::") {
			t.Errorf("%q survived the last DeletePrefix", k)
		}
	}
	t.Logf("%d DeletePrefix calls ran during the writes", deletes)
}
