package memcached_test

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"keyedcache.dev/internal/testproc"
)

// exampleAddr is the address of the memcached the examples use, started
// by TestMain (the tests start their own through testserver).
var exampleAddr string

// TestMain starts a memcached for the examples, which cannot start one
// through testserver (they have no *testing.T). Without the binary the
// examples are skipped, or, with CI=true, the run fails.
func TestMain(m *testing.M) {
	if _, child := testproc.Role(); child {
		os.Exit(m.Run())
	}
	flag.Parse()
	stop, err := startExampleServer()
	if err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "memcached for the examples:", err, "(CI=true: a missing server is a failure)")
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "memcached for the examples:", err, "- examples skipped (apt-get install memcached)")
		skip := "^Example"
		if s := flag.Lookup("test.skip").Value.String(); s != "" {
			skip = s + "|" + skip
		}
		flag.Set("test.skip", skip)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func startExampleServer() (stop func(), err error) {
	stop = func() {}
	bin, err := exec.LookPath("memcached")
	if err != nil {
		return stop, err
	}
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return stop, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "16", "-t", "1"}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root")
		}
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			return stop, err
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		addr := "127.0.0.1:" + strconv.Itoa(port)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case <-exited: // the port was taken in between: try another
			default:
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
					exampleAddr = addr
					return func() { cmd.Process.Kill(); <-exited }, nil
				}
				continue
			}
			break
		}
		cmd.Process.Kill()
		<-exited
	}
	return stop, errors.New("could not start memcached on a free port")
}
