package sysops

import (
	"os"
	"syscall"
	"time"
)

// fileStamp is the status of a file that changes whenever its content
// does (sourceCheck).
type fileStamp struct {
	size, ino, dev uint64
	mtime, ctime   int64 // Unix nanoseconds
}

// stampOf stats path; false when it cannot.
func stampOf(path string) (fileStamp, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStamp{}, false
	}
	return fileStamp{size: uint64(st.Size), ino: st.Ino, dev: st.Dev,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, true
}

// settled reports whether the file had not been changed since before.
func (s fileStamp) settled(before time.Time) bool {
	b := before.UnixNano()
	return s.mtime < b && s.ctime < b
}
