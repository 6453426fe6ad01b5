package function

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used, on every
// thread (the garbage collector's included). Reported per operation next
// to wall time it is far steadier on a machine shared with other work,
// because time spent waiting for a core is not counted.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
