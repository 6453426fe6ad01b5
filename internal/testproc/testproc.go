// Package testproc runs a test again as child processes of itself (the
// os.Args[0] re-exec pattern), so that tests of behaviour across
// processes use real processes.
//
// A test that starts children checks its role first:
//
//	func TestShared(t *testing.T) {
//		if role, ok := testproc.Role(); ok {
//			// child: do the work for role, fail t on error, return
//			return
//		}
//		p := testproc.Start(t, "writer", "KEY=value")
//		p.Wait(t)
//	}
//
// The child runs only the test that started it (and its subtest path),
// with the parent's environment plus the role and the given variables.
package testproc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvRole is the environment variable that carries a child's role.
const EnvRole = "KEYEDCACHE_TESTPROC_ROLE"

// Role reports the role this process was started with, if it is a child.
func Role() (string, bool) {
	r := os.Getenv(EnvRole)
	return r, r != ""
}

// A Proc is a running child process.
type Proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// Start starts the test binary again, running only t's test, with role
// and the extra environment variables ("NAME=value"). The child is
// killed when t ends if it is still running.
func Start(t testing.TB, role string, env ...string) *Proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+runPattern(t.Name()), "-test.v", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(append(os.Environ(), EnvRole+"="+role), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("testproc: start %s: %v", role, err)
	}
	p := &Proc{name: role, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// runPattern matches exactly the test (and subtest path) named name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// Wait waits for the child to exit and fails t, showing the child's
// output, if it failed or did not run the test at all.
func (p *Proc) Wait(t testing.TB) {
	t.Helper()
	<-p.done
	if p.err != nil {
		t.Fatalf("testproc: child %q: %v\n%s", p.name, p.err, p.out.String())
	}
	if !strings.Contains(p.out.String(), "=== RUN") {
		t.Fatalf("testproc: child %q ran no test\n%s", p.name, p.out.String())
	}
}

// Done is closed when the child has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Kill kills the child at once and waits for it to exit.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Output returns what the child has written so far.
func (p *Proc) Output() string { return p.out.String() }

// WaitFor waits until the child's output contains s and returns the rest
// of that line. It fails t if the child exits first or the timeout passes.
func (p *Proc) WaitFor(t testing.TB, s string, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		exited := false
		select {
		case <-p.done:
			exited = true
		default:
		}
		out := p.out.String()
		if i := strings.Index(out, s); i >= 0 {
			rest := out[i+len(s):]
			if j := strings.IndexByte(rest, '\n'); j >= 0 {
				return strings.TrimSpace(rest[:j])
			}
			if exited {
				return strings.TrimSpace(rest)
			}
		}
		if exited {
			t.Fatalf("testproc: child %q exited before printing %q: %v\n%s", p.name, s, p.err, out)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("testproc: child %q did not print %q within %v\n%s", p.name, s, timeout, p.out.String())
		case <-tick.C:
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
