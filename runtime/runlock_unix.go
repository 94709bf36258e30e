//go:build unix

package runtime

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes the run's lock (flock, exclusive, without waiting):
// held is false when another process — or another open file of this one —
// holds it. The kernel drops the lock when the holder exits, however it
// exits, so a held lock means a live gxl process is running the run.
func lockFile(f *os.File) (held bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

// lockHeld probes the lock without keeping it: a shared lock conflicts
// only with the exclusive one a running run holds.
func lockHeld(f *os.File) bool {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// lockProbeWorks: this platform can tell a running run from one whose
// process is gone.
const lockProbeWorks = true
