package pg

import (
	"runtime"
	"syscall"
)

// dieWithGxl makes the kernel kill the program when the thread that
// starts it goes away: gxl killed in the middle of a pg_rewind must not
// leave the rewind running beside the one the next operator resumes on
// the same data folder. The calling goroutine keeps its thread for as long
// as the program runs (release), since the signal follows the thread, not
// the process.
func dieWithGxl(attr *syscall.SysProcAttr) (release func()) {
	runtime.LockOSThread()
	attr.Pdeathsig = syscall.SIGKILL
	return runtime.UnlockOSThread
}
