//go:build linux || openbsd

package file

import (
	"os"
	"syscall"
)

// changeTime returns the inode change time of fi in Unix nanoseconds. A
// directory's changes with every entry created, renamed or removed in
// it, like its modification time, but unlike that time no program can
// set it back.
func changeTime(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Nano()
	}
	return 0
}
