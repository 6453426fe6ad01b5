package function

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// slowError is a backend's error for a server that stopped answering in
// time, marked as a timeout.
type slowError struct{}

func (slowError) Error() string { return "not answering (calls time out)" }
func (slowError) Timeout() bool { return true }

// TestTimedOut checks which failures count as a slow backend (a write
// that may have landed) rather than one that refuses.
func TestTimedOut(t *testing.T) {
	_, dialErr := net.DialTimeout("tcp", "127.0.0.1:1", time.Second) // refused: nothing listens on port 1
	for _, tc := range []struct {
		err  error
		slow bool
	}{
		{context.DeadlineExceeded, true},
		{fmt.Errorf("redis get: %w", os.ErrDeadlineExceeded), true},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, true},
		{fmt.Errorf("redis add: %w", slowError{}), true},
		{errors.New("closed"), false},
		{context.Canceled, false},
		{dialErr, false},
	} {
		if got := timedOut(tc.err); got != tc.slow {
			t.Errorf("timedOut(%v) = %v, want %v", tc.err, got, tc.slow)
		}
	}
}

// TestTroublePolicy checks when a fill gives up on a failing backend: at
// once after the third refused read (or claim) with nothing known, after
// a lease once a call was slow, and only at the longest wait while it
// waits for a claim.
func TestTroublePolicy(t *testing.T) {
	refused := errors.New("connection refused")
	farOff := time.Now().Add(time.Hour)

	// As fill meets them: a read fails, so it claims; the claim fails, so
	// it reads again…
	tr := trouble{lease: time.Hour}
	for i, want := range []bool{false, false, false, false, true} {
		if got := tr.failed(refused, i%2 == 1, false, farOff); got != want {
			t.Fatalf("refusal %d: give up = %v, want %v", i+1, got, want)
		}
	}

	tr = trouble{lease: time.Hour}
	for i := range 10 {
		if tr.failed(context.DeadlineExceeded, false, false, farOff) || tr.failed(refused, true, false, farOff) {
			t.Fatalf("gave up after %d timeouts and refusals, within the lease", i+1)
		}
	}
	tr = trouble{lease: time.Millisecond}
	tr.failed(context.DeadlineExceeded, false, false, farOff)
	time.Sleep(2 * time.Millisecond)
	if !tr.failed(refused, true, false, farOff) {
		t.Fatal("slow for more than a lease, and still trying")
	}

	tr = trouble{lease: time.Millisecond}
	for i := range 10 {
		if tr.failed(refused, true, true, farOff) {
			t.Fatalf("gave up after %d failures while waiting for a claim, before the longest wait", i+1)
		}
		time.Sleep(time.Millisecond)
	}
	if !tr.failed(refused, false, true, time.Now()) {
		t.Fatal("waiting for a claim past the longest wait")
	}

	tr = trouble{lease: time.Hour}
	tr.failed(refused, false, false, farOff)
	tr.failed(refused, false, false, farOff)
	tr.answered(false)
	if tr.failed(refused, false, false, farOff) {
		t.Fatal("a read that answered did not reset the count of failed reads")
	}
}
