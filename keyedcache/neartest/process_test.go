package neartest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	_ "keyedcache.dev/keyedcache/backend/file"
	_ "keyedcache.dev/keyedcache/backend/groupcache"
	_ "keyedcache.dev/keyedcache/backend/memcached"
	_ "keyedcache.dev/keyedcache/backend/redis"
	_ "keyedcache.dev/keyedcache/backend/sqldb/postgres"
	_ "keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

// TestNearAcrossProcesses: a writer with no process tier of its own (this
// process) changes entries that a reader with one (a child process) holds
// in its tier, on every shared backend that accepts near_*. After each
// change returns, the reader must never serve the old value from a read
// that starts more than near_staleness later. The tier's TTL is far
// longer, so a change the reader was not told of would be served until
// the end of the test.
//
// The bound is asserted without timing the machine: the writer notes the
// wall-clock time after its change returned, the reader the time before
// each read; a read that starts past the bound must not answer the old
// value, however slowly anything runs. A loaded machine only delays when
// the reader sees the new value, which it waits for without a bound.
func TestNearAcrossProcesses(t *testing.T) {
	for _, b := range nearBackends {
		t.Run(b.name, func(t *testing.T) {
			if role, ok := testproc.Role(); ok {
				nearReader(t, role)
				return
			}
			nearWriter(t, b)
		})
	}
}

const (
	envNearURL = "KEYEDCACHE_TEST_NEAR_URL"
	envNearSig = "KEYEDCACHE_TEST_NEAR_SIGNALS"
	// procStaleness is the reader's near_staleness; its near_ttl is 5m.
	procStaleness = 300 * time.Millisecond
	// clockSlack allows for the two processes' readings of one wall clock.
	clockSlack = 10 * time.Millisecond
)

// A nearBackend starts a shared store for the test and returns the URLs
// of the writer and of the reader (before the near_* parameters).
type nearBackend struct {
	name  string
	start func(t *testing.T) (writer, reader string, srv *testserver.Server)
	// faults are the steps that only this backend has.
	faults []nearStep
}

func sameURL(u string) (string, string, *testserver.Server) { return u, u, nil }

var nearBackends = []nearBackend{
	{name: "redis", start: func(t *testing.T) (string, string, *testserver.Server) {
		srv := testserver.Redis(t)
		w, r, _ := sameURL("redis://" + srv.Addr + "?key_prefix=site1&dial_timeout=10s&read_timeout=10s")
		return w, r, srv
	}, faults: redisSteps},
	{name: "redis-cluster", start: func(t *testing.T) (string, string, *testserver.Server) {
		cl := testserver.RedisCluster(t)
		return sameURL("redis-cluster://" + strings.Join(cl.Addrs, ",") + "?key_prefix=site1&dial_timeout=10s&read_timeout=10s")
	}},
	{name: "memcached", start: func(t *testing.T) (string, string, *testserver.Server) {
		return sameURL("memcached://" + testserver.Memcached(t).Addr + "?key_prefix=site1&net_timeout=10s")
	}},
	{name: "file", start: func(t *testing.T) (string, string, *testserver.Server) {
		return sameURL("file://" + t.TempDir() + "?key_prefix=site1")
	}},
	{name: "sqlite", start: func(t *testing.T) (string, string, *testserver.Server) {
		return sameURL("sqlite://" + filepath.Join(t.TempDir(), "cache.db") + "?key_prefix=site1&query_timeout=10s")
	}},
	{name: "postgres", start: func(t *testing.T) (string, string, *testserver.Server) {
		return sameURL(testserver.Postgres(t).DSN + "&key_prefix=site1&query_timeout=10s")
	}},
	{name: "groupcache", start: func(t *testing.T) (string, string, *testserver.Server) {
		// The reader is the one peer (a process has one node, so this
		// process is a client of it).
		self := "127.0.0.1:" + strconv.Itoa(testserver.FreePort(t, false))
		params := "?key_prefix=site1&peer_timeout=10s&peers=" + self
		return "groupcache://" + params, "groupcache://" + self + params, nil
	}},
}

// A nearStep is one change the writer makes, to keys the reader holds in
// its tier with the value "old".
type nearStep struct {
	name string
	keys []string
	// change makes the change; it returns once the change is made.
	change func(t *testing.T, c *keyedcache.Cache, srv *testserver.Server)
	// want is each key's value after the change ("": a miss).
	want map[string]string
	// flushes says the reader's tier must have been emptied.
	flushes bool
}

var nearSteps = []nearStep{
	{name: "set", keys: []string{"set::k"},
		change: func(t *testing.T, c *keyedcache.Cache, _ *testserver.Server) {
			c.Set(ctxFor(t), c.Key("set", "k"), "new")
		},
		want: map[string]string{"set::k": "new"}},
	{name: "delete", keys: []string{"del::k"},
		change: func(t *testing.T, c *keyedcache.Cache, _ *testserver.Server) { c.Delete(ctxFor(t), "del", "k") },
		want:   map[string]string{"del::k": ""}},
	{name: "delete-children", keys: []string{"tree", "tree::a", "tree::a::b", "treetop"},
		change: func(t *testing.T, c *keyedcache.Cache, _ *testserver.Server) { c.DeleteChildren(ctxFor(t), "tree") },
		want:   map[string]string{"tree": "", "tree::a": "", "tree::a::b": "", "treetop": "old"}},
	{name: "clear", keys: []string{"clear::k"},
		change: func(t *testing.T, c *keyedcache.Cache, _ *testserver.Server) { c.Clear(ctxFor(t)) },
		want:   map[string]string{"clear::k": ""}},
}

// cborText is the stored form of a short text in the default codec: its
// tag byte, then a CBOR text string.
func cborText(s string) string { return string([]byte{0x01, 0x60 + byte(len(s))}) + s }

// Steps on one Redis server: writes made around keyedcache, and the
// tracked connection lost.
var redisSteps = []nearStep{
	{name: "redis-cli-set", keys: []string{"cli::k"},
		change: func(t *testing.T, _ *keyedcache.Cache, srv *testserver.Server) {
			redisCLI(t, srv, cborText("new"), "-x", "SET", "site1::cli::k")
		},
		want: map[string]string{"cli::k": "new"}},
	{name: "redis-cli-del", keys: []string{"cli::d"},
		change: func(t *testing.T, _ *keyedcache.Cache, srv *testserver.Server) {
			redisCLI(t, srv, "", "DEL", "site1::cli::d")
		},
		want: map[string]string{"cli::d": ""}},
	{name: "client-kill", keys: []string{"kill::k"}, flushes: true,
		change: func(t *testing.T, _ *keyedcache.Cache, srv *testserver.Server) {
			// Kill the reader's tracked connection, then change the key:
			// no connection is left to tell of the change.
			var ids []string
			for line := range strings.Lines(redisCLI(t, srv, "", "CLIENT", "LIST")) {
				if strings.Contains(line, " name=keyedcache-near ") {
					id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
					ids = append(ids, id)
				}
			}
			if len(ids) == 0 {
				t.Fatal("the reader has no tracked connection")
			}
			for _, id := range ids {
				redisCLI(t, srv, "", "CLIENT", "KILL", "ID", id)
			}
			redisCLI(t, srv, cborText("new"), "-x", "SET", "site1::kill::k")
		},
		want: map[string]string{"kill::k": "new"}},
	{name: "restart", keys: []string{"restart::k"}, flushes: true,
		change: func(t *testing.T, _ *keyedcache.Cache, srv *testserver.Server) {
			srv.Restart() // no persistence: the key is gone
		},
		want: map[string]string{"restart::k": ""}},
}

func redisCLI(t *testing.T, srv *testserver.Server, stdin string, args ...string) string {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redis-cli: %v (apt-get install redis-tools)", err)
	}
	cmd := exec.Command(cli, append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(srv.Port)}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func stepsOf(name string) []nearStep {
	for _, b := range nearBackends {
		if b.name == name {
			return append(append([]nearStep(nil), nearSteps...), b.faults...)
		}
	}
	return nil
}

func nearWriter(t *testing.T, b nearBackend) {
	wURL, rURL, srv := b.start(t)
	sig := t.TempDir()
	reader := testproc.Start(t, "reader", envNearURL+"="+rURL, envNearSig+"="+sig)
	reader.WaitFor(t, "open", time.Minute)
	c, err := keyedcache.Open(wURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, st := range stepsOf(b.name) {
		for _, k := range st.keys {
			if err := c.Set(ctxFor(t), k, "old"); err != nil {
				t.Fatal(err)
			}
		}
		signal(t, sig, fmt.Sprintf("ready-%d", i), "")
		reader.WaitFor(t, fmt.Sprintf("holding %d", i), time.Minute)
		st.change(t, c, srv)
		signal(t, sig, fmt.Sprintf("changed-%d", i), strconv.FormatInt(time.Now().UnixNano(), 10))
		t.Logf("%s: %s", st.name, reader.WaitFor(t, fmt.Sprintf("checked %d:", i), 2*time.Minute))
	}
	reader.Wait(t)
	if st := c.Stats(); st.Errors != 0 {
		t.Logf("the writer counted %d backend errors", st.Errors) // a fault step's, and what followed it
	}
}

// signal writes a signal file for the reader; its content is the message.
func signal(t *testing.T, dir, name, msg string) {
	if err := os.WriteFile(filepath.Join(dir, name+".tmp"), []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, name+".tmp"), filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// awaitSignal waits for the signal file name and returns its content.
func awaitSignal(t *testing.T, name string) string {
	path := filepath.Join(os.Getenv(envNearSig), name)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil {
			return string(data)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no signal %q from the writer", name)
	return ""
}

func nearReader(t *testing.T, role string) {
	if role != "reader" {
		t.Fatalf("unknown role %q", role)
	}
	u := os.Getenv(envNearURL) + "&near_entries=1000&near_ttl=5m&near_staleness=" + procStaleness.String()
	c, err := keyedcache.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Println("open")
	ctx := context.Background()
	read := func(k string) (string, bool) {
		v, err := keyedcache.Get[string](ctx, c, k)
		if err != nil && !errors.Is(err, keyedcache.ErrNotCached) {
			t.Fatalf("Get(%s): %v", k, err)
		}
		return v, err == nil
	}
	name := t.Name()[strings.LastIndexByte(t.Name(), '/')+1:]
	for i, st := range stepsOf(name) {
		awaitSignal(t, fmt.Sprintf("ready-%d", i))
		// Hold every key of the step in the tier: a read answered from it.
		deadline := time.Now().Add(time.Minute)
		for _, k := range st.keys {
			for {
				before := c.Stats().ProcessHits
				v, _ := read(k)
				if v == "old" && c.Stats().ProcessHits == before+1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %s is not held in the tier (last read %q)", st.name, k, v)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		flushes := c.Stats().ProcessFlushes
		fmt.Printf("holding %d\n", i)

		at, err := strconv.ParseInt(awaitSignal(t, fmt.Sprintf("changed-%d", i)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		changed := time.Unix(0, at)
		bound := changed.Add(procStaleness + clockSlack)
		// Read every key until well past the bound; no read that starts
		// past it may answer "old" for a key the change changed.
		var lastOld, firstLate time.Time
		reads, late, past := 0, 0, 0 // past: reads that started past the bound
		for time.Now().Before(bound.Add(2*procStaleness)) || past < 3 {
			for _, k := range st.keys {
				if st.want[k] == "old" {
					continue
				}
				start := time.Now()
				v, ok := read(k)
				reads++
				if start.After(bound) {
					past++
				}
				if ok && v == "old" {
					lastOld = start
					if start.After(bound) {
						if late++; late == 1 {
							firstLate = start
						}
					}
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		if late > 0 {
			t.Errorf("%s: %d reads answered the old value, the first %v after the change returned, the last %v (near_staleness %v)",
				st.name, late, firstLate.Sub(changed).Round(time.Millisecond), lastOld.Sub(changed).Round(time.Millisecond), procStaleness)
		}
		// Then every key reads as the change left it (waiting, unbounded,
		// for a store that is coming back).
		for _, k := range st.keys {
			for {
				v, ok := read(k)
				if want := st.want[k]; v == want && ok == (want != "") {
					break
				} else if time.Now().After(bound.Add(time.Minute)) {
					t.Fatalf("%s: %s = %q (found %v), want %q", st.name, k, v, ok, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		if got := c.Stats().ProcessFlushes; st.flushes && got == flushes {
			t.Errorf("%s: the tier was not emptied", st.name)
		}
		seen := "never old after the change"
		if !lastOld.IsZero() {
			seen = fmt.Sprintf("old until %v after the change", lastOld.Sub(changed).Round(time.Millisecond))
		}
		fmt.Printf("checked %d: %d reads, %s\n", i, reads, seen)
	}
}
