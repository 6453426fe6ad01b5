package testserver

import (
	"os"
	"strconv"
	"testing"
)

// Memcached starts memcached on a free 127.0.0.1 port (TCP only, 64 MB).
func Memcached(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin := need(t, "memcached", "apt-get install memcached")
	var o options
	for _, f := range opts {
		f(&o)
	}
	s := &Server{t: t, name: "memcached", bin: bin, Dir: newDir(t, "mc")}
	s.ready = func(s *Server) error {
		line, err := dial(s, "version\r\n")
		if err != nil {
			return err
		}
		return hasPrefix(line, "VERSION")
	}
	return launch(t, s, false, func(port int) []string {
		args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64", "-t", "2"}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root")
		}
		return append(args, o.args...)
	})
}
