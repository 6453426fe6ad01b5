package testproc

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestChildSeesRoleAndEnv(t *testing.T) {
	if role, ok := Role(); ok {
		if role != "echo" || os.Getenv("TESTPROC_WORD") != "hello" {
			t.Fatalf("child: role %q word %q", role, os.Getenv("TESTPROC_WORD"))
		}
		println("WORD", os.Getenv("TESTPROC_WORD"))
		return
	}
	p := Start(t, "echo", "TESTPROC_WORD=hello")
	if got := p.WaitFor(t, "WORD ", 30*time.Second); got != "hello" {
		t.Fatalf("WaitFor = %q", got)
	}
	p.Wait(t)
}

func TestSubtestChild(t *testing.T) {
	t.Run("inner part", func(t *testing.T) {
		if _, ok := Role(); ok {
			println("INNER", t.Name())
			return
		}
		p := Start(t, "inner")
		p.Wait(t)
		if !strings.Contains(p.Output(), "INNER TestSubtestChild/inner_part") {
			t.Fatalf("child output:\n%s", p.Output())
		}
	})
}

func TestFailingChildIsReported(t *testing.T) {
	if _, ok := Role(); ok {
		os.Exit(3)
	}
	p := Start(t, "fail")
	<-p.Done()
	if p.err == nil {
		t.Fatal("a child that exited 3 reported no error")
	}
}
