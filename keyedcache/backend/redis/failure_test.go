package redis_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend/redis"
)

// eventually polls cond for up to 20 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDownAtOpen opens a store while its server is down: calls fail
// without panicking, and the store works once the server is up.
func TestDownAtOpen(t *testing.T) {
	srv := testserver.Redis(t)
	srv.Kill()
	s := open(t, "redis://"+srv.Addr)
	ctx := ctxFor(t)
	if _, _, err := s.Get(ctx, "k"); err == nil {
		t.Fatal("Get with the server down returned no error")
	}
	if err := s.Set(ctx, "k", []byte("v"), time.Minute); err == nil {
		t.Fatal("Set with the server down returned no error")
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping with the server down returned no error")
	}
	srv.Restart()
	eventually(t, "a write after the server came up", func() bool {
		return s.Set(ctx, "k", []byte("v"), time.Minute) == nil
	})
	if v, found, err := s.Get(ctx, "k"); err != nil || !found || string(v) != "v" {
		t.Fatalf("Get = %q, %v, %v", v, found, err)
	}
}

// TestClosed checks that calls after Close fail with ErrClosed.
func TestClosed(t *testing.T) {
	srv := testserver.Redis(t)
	s := connected(t, open(t, patient("redis://"+srv.Addr)))
	s.Close()
	if _, _, err := s.Get(ctxFor(t), "k"); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("a second Close = %v", err)
	}
}

// TestHungServer checks that a store stops waiting on a hung server
// (SIGSTOP): after a few calls time out, calls fail at once
// with ErrNotAnswering, and once the server answers again they succeed.
func TestHungServer(t *testing.T) {
	srv := testserver.Redis(t)
	s := connected(t, open(t, "redis://"+srv.Addr+"?read_timeout=100ms"))
	ctx := ctxFor(t)
	if err := s.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	resumed := false
	defer func() {
		if !resumed {
			srv.Resume()
		}
	}()
	for i := range 3 {
		if _, _, err := s.Get(ctx, "k"); !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Get %d on a hung server = %v, want a timeout", i, err)
		}
	}
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, redis.ErrNotAnswering) {
		t.Fatalf("Get after 3 timeouts = %v, want ErrNotAnswering", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, redis.ErrNotAnswering) {
		t.Fatalf("Ping after 3 timeouts = %v, want ErrNotAnswering", err)
	}
	srv.Resume()
	resumed = true
	eventually(t, "a read after the server answers again", func() bool {
		v, found, err := s.Get(ctx, "k")
		return err == nil && found && string(v) == "v"
	})
}

// TestWrongPassword checks that a bad password fails every call with the
// server's answer and never shows the password.
func TestWrongPassword(t *testing.T) {
	srv := testserver.Redis(t, testserver.Args("--requirepass", "right-secret"))
	s := open(t, "redis://:wrong-secret@"+srv.Addr)
	err := s.Ping(ctxFor(t))
	if err == nil {
		t.Fatal("Ping with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error shows a password: %v", err)
	}
	if !strings.Contains(err.Error(), "WRONGPASS") && !strings.Contains(err.Error(), "invalid password") {
		t.Fatalf("the error does not say the password is wrong: %v", err)
	}
	good := connected(t, open(t, patient("redis://:right-secret@"+srv.Addr)))
	if err := good.Set(ctxFor(t), "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set with the right password: %v", err)
	}
}

// TestTLSVerification checks that rediss verifies the server against the
// given CA and name, and that tls_insecure_skip_verify skips it.
func TestTLSVerification(t *testing.T) {
	caFile, certFile, keyFile := redis.WriteCerts(t, t.TempDir())
	srv := testserver.Redis(t, testserver.TLS(certFile, keyFile, caFile))
	base := "rediss://" + srv.TLSAddr
	for u, ok := range map[string]bool{
		base + "?tls_ca_file=" + caFile:                                 true,
		base + "?tls_ca_file=" + caFile + "&tls_server_name=redis.test": true,
		base + "?tls_insecure_skip_verify=true":                         true,
		base + "?tls_ca_file=" + caFile + "&tls_server_name=other.test": false, // not the certificate's name
		base:                     false, // the system's CAs do not know the test CA
		"redis://" + srv.TLSAddr: false, // plain text to a TLS port
	} {
		s := open(t, patient(u))
		err := s.Ping(ctxFor(t))
		if ok && err != nil {
			t.Errorf("%s: %v", u, err)
		}
		if !ok && err == nil {
			t.Errorf("%s: connected, want a failure", u)
		}
	}
}
