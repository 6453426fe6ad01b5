package codec

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// childEnv marks a re-executed test binary; its value is the name of the
// one test the child runs.
const childEnv = "KEYEDCACHE_BENCH_CODEC_CHILD"

// childAddressSpace bounds the child's address space, so a decoder that
// asks for an absurd allocation gets a quick "out of memory" in the child
// instead of taking memory from the machine.
const childAddressSpace = 4 << 30

// outcome is what became of a test run in a child process.
type outcome struct {
	passed  bool
	skipped bool
	fatal   string   // the runtime's "fatal error: …" or "panic: …" line, if it crashed
	frame   string   // the first stack frame outside the runtime, if it crashed
	logs    []string // the child's t.Log lines
	output  string
}

// isolate runs the calling test again in a child process: this test
// binary, re-executed with -test.run selecting this test only, under an
// address-space limit. In the child it returns true and the test goes on
// to do the work. In the parent it returns false and what became of the
// child: a decoder that crashes the runtime (which no recover can catch)
// then fails the child, not the whole run.
func isolate(t *testing.T) (inChild bool, o outcome) {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		if err := limitAddressSpace(childAddressSpace); err != nil {
			t.Skip("cannot isolate decoders:", err)
		}
		return true, o
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(parts, "/"), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	o.output = string(out)
	o.passed = err == nil
	sc := bufio.NewScanner(strings.NewReader(o.output))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "fatal error:"), strings.HasPrefix(line, "panic:"):
			if o.fatal == "" {
				o.fatal = line
			}
		case o.fatal != "" && o.frame == "" && strings.HasPrefix(line, "github.com/"):
			o.frame = line
		case strings.Contains(line, "--- SKIP"):
			o.skipped = true
		case strings.HasPrefix(line, "    ") && strings.Contains(line, "_test.go:"):
			// Drop the child's "file_test.go:123: " prefix.
			_, msg, _ := strings.Cut(strings.TrimSpace(line), ": ")
			o.logs = append(o.logs, "child: "+msg)
		}
	}
	return false, o
}

// expect checks a child's outcome against whether it is known to crash, and
// relays its logs.
func (o outcome) expect(t *testing.T, knownCrash bool) {
	t.Helper()
	for _, l := range o.logs {
		t.Log(l)
	}
	switch {
	case o.skipped:
		t.Skip("child skipped")
	case o.fatal != "" && knownCrash:
		t.Logf("known crash, as expected: %s in %s", o.fatal, o.frame)
	case o.fatal != "":
		t.Errorf("child crashed: %s in %s\n%s", o.fatal, o.frame, o.output)
	case knownCrash:
		t.Errorf("expected the child to crash and it did not: update knownCrash and bench/README.md\n%s", o.output)
	case !o.passed:
		t.Errorf("child failed:\n%s", o.output)
	}
}
