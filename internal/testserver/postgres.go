package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const pgHint = "apt-get install postgresql (the server binaries initdb and postgres)"

// Postgres initialises a PostgreSQL cluster in a temporary directory and
// starts it on a free 127.0.0.1 port, with a database and a superuser
// both named "keyedcache" (trust authentication on loopback). Server.DSN
// is its URL. PostgreSQL refuses to run as root, so when the test runs
// as root the server runs as the "postgres" user (or "nobody").
func Postgres(t testing.TB) *Server {
	t.Helper()
	pgBin := need(t, "postgres", pgHint)
	initdb := need(t, "initdb", pgHint)
	if dir := filepath.Dir(pgBin); fileExists(filepath.Join(dir, "initdb")) {
		initdb = filepath.Join(dir, "initdb") // the same version as the server
	}
	s := &Server{t: t, name: "postgres", bin: pgBin, Dir: newDir(t, "pg")}
	if os.Geteuid() == 0 {
		s.cred = unprivileged(t)
		if err := os.Chown(s.Dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			t.Fatalf("testserver: %v", err)
		}
	}
	data := filepath.Join(s.Dir, "data")
	run := func(stdin string, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Dir = s.Dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("testserver: %s: %v\n%s", filepath.Base(name), err, out)
		}
	}
	run("", initdb, "-D", data, "-U", "keyedcache", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	run("CREATE DATABASE keyedcache;\n", pgBin, "--single", "-D", data, "postgres")
	s.ready = func(s *Server) error {
		if strings.Contains(s.Log(), "ready to accept connections") {
			return nil
		}
		return fmt.Errorf("starting")
	}
	launch(t, s, false, func(port int) []string {
		return []string{"-D", data, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
			"-k", s.Dir, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "max_connections=200"}
	})
	s.DSN = fmt.Sprintf("postgres://keyedcache@127.0.0.1:%d/keyedcache?sslmode=disable", s.Port)
	return s
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// unprivileged returns the credentials of the "postgres" user, or of
// "nobody" where there is none.
func unprivileged(t testing.TB) *syscall.Credential {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	t.Fatal("testserver: running as root and no postgres or nobody user to run PostgreSQL as")
	return nil
}
