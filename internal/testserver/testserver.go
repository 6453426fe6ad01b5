// Package testserver starts real servers — redis-server, a Redis
// Cluster, memcached and PostgreSQL — on free 127.0.0.1 ports for tests,
// and stops them when the test ends.
//
// A missing server binary skips the test with a message that says how to
// install it; with CI=true it fails the test instead, so that CI never
// passes by skipping.
package testserver

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A Server is one server process on loopback.
type Server struct {
	// Addr is the server's "127.0.0.1:port".
	Addr string
	// Port is the port of Addr.
	Port int
	// Dir is the server's own directory (data, sockets, logs).
	Dir string
	// Socket is the path of the server's unix socket, where it has one
	// (Redis).
	Socket string
	// TLSAddr is the "127.0.0.1:port" of the server's TLS listener, when
	// started with TLS (Redis).
	TLSAddr string
	// DSN is the connection URL (PostgreSQL).
	DSN string

	t     testing.TB
	name  string
	bin   string
	args  []string
	cred  *syscall.Credential
	ready func(s *Server) error

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *logBuffer
}

// need returns the path of bin, or skips (fails with CI=true) with an
// install hint.
func need(t testing.TB, bin, hint string) string {
	t.Helper()
	if p, err := exec.LookPath(bin); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/local/bin", "/usr/sbin", "/usr/lib/postgresql"} {
		if p := findIn(dir, bin); p != "" {
			return p
		}
	}
	msg := fmt.Sprintf("testserver: %s not found; install it: %s", bin, hint)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing server is a failure)")
	}
	t.Skip(msg)
	return ""
}

// findIn looks for bin in dir and, for PostgreSQL's versioned layout,
// in dir/*/bin.
func findIn(dir, bin string) string {
	if fi, err := os.Stat(dir + "/" + bin); err == nil && !fi.IsDir() {
		return dir + "/" + bin
	}
	subs, _ := os.ReadDir(dir)
	for i := len(subs) - 1; i >= 0; i-- {
		p := dir + "/" + subs[i].Name() + "/bin/" + bin
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// If high is set, port+10000 (a Redis Cluster bus port) is free too.
func FreePort(t testing.TB, high bool) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testserver: no free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !high {
			l.Close()
			return port
		}
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		l.Close()
		if err == nil {
			l2.Close()
			return port
		}
	}
	t.Fatal("testserver: no free port pair")
	return 0
}

// start starts the process and waits until it is ready.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.Dir
	out := &logBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// A process group of its own, so that Pause, Resume and Kill reach
	// the server's children too (PostgreSQL's backends).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.cred}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done, s.out = cmd, done, out
	s.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("%s exited at start:\n%s", s.name, out.String())
		default:
		}
		err := s.ready(s)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("%s not ready after 30s: %v\n%s", s.name, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	for _, pid := range append(children(cmd.Process.Pid), -cmd.Process.Pid) {
		_ = syscall.Kill(pid, syscall.SIGCONT)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-done
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	// PostgreSQL's backends leave the process group (setsid), so they
	// are found by their parent.
	for _, pid := range children(cmd.Process.Pid) {
		_ = syscall.Kill(pid, sig)
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		s.t.Fatalf("testserver: %s: signal %v: %v", s.name, sig, err)
	}
}

// Pause stops the server process (SIGSTOP): it keeps its connections
// open but answers nothing, like a hung server. It returns once every
// thread of the server and of its children has stopped.
func (s *Server) Pause() {
	s.signal(syscall.SIGSTOP)
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	if err := waitStopped(append(children(pid), pid)...); err != nil {
		s.t.Fatalf("testserver: %s: %v", s.name, err)
	}
}

// StopProcess stops the process pid (SIGSTOP), such as a child process
// serving as a peer, and returns once every thread of it has stopped.
func StopProcess(t testing.TB, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("testserver: SIGSTOP %d: %v", pid, err)
	}
	if err := waitStopped(pid); err != nil {
		t.Fatalf("testserver: %v", err)
	}
}

// stopWait bounds the wait for a stopped process to stop.
const stopWait = 30 * time.Second

// waitStopped waits until every thread of the processes pids has
// stopped. kill(2) returns once SIGSTOP is queued; each thread stops
// only when it next runs, and on a loaded machine a thread that waits
// for a CPU can still answer a request for many milliseconds after.
func waitStopped(pids ...int) error {
	deadline := time.Now().Add(stopWait)
	for _, pid := range pids {
		for !stopped(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d did not stop within %v after SIGSTOP", pid, stopWait)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return nil
}

// stopped reports whether every thread of process pid has stopped (or
// exited), from /proc; where there is no /proc it cannot tell and says
// yes.
func stopped(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return true // gone, or no /proc
	}
	for _, e := range tasks {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/stat")
		if err != nil {
			continue // the thread exited
		}
		switch state(b) {
		case 'T', 't', 'Z', 'X', 0:
		default:
			return false
		}
	}
	return true
}

// children returns the pids of the processes whose parent is pid, from
// /proc (none where there is no /proc).
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // state ppid ...
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// state returns the state letter of a /proc stat line (T for
// stopped), or 0 if it cannot be read.
func state(stat []byte) byte {
	// pid (comm) state ...: comm may hold spaces, so look after its ")".
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0
	}
	return stat[i+2]
}

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

// Kill kills the server (SIGKILL) and waits for it to exit.
func (s *Server) Kill() { s.kill() }

// Restart starts the server again on the same port with the same
// directory, after Kill (or kills it first).
func (s *Server) Restart() {
	s.kill()
	var err error
	for range 50 { // the port may linger for a moment
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("testserver: restart %s: %v", s.name, err)
}

// Log returns what the server has printed since it last started.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// newDir makes a short private directory for a server (unix socket
// paths must stay under about 100 bytes), removed at cleanup.
func newDir(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kc-"+name+"-")
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// launch starts s with a fresh free port chosen by args(port), retrying
// when the port was taken in between, and stops it at cleanup.
func launch(t testing.TB, s *Server, high bool, args func(port int) []string) *Server {
	t.Helper()
	var err error
	for range 5 {
		s.Port = FreePort(t, high)
		s.Addr = "127.0.0.1:" + strconv.Itoa(s.Port)
		s.args = args(s.Port)
		if err = s.start(); err == nil {
			t.Cleanup(s.kill)
			return s
		}
	}
	t.Fatalf("testserver: start %s: %v", s.name, err)
	return nil
}

// dial opens a TCP connection to s, sends req and returns the first
// line of the reply.
func dial(s *Server, req string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func hasPrefix(line, p string) error {
	if !strings.HasPrefix(line, p) {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}
