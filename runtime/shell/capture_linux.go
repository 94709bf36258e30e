package shell

import (
	"os"

	"golang.org/x/sys/unix"
)

// captureFile returns an anonymous in-memory file (memfd) to take a
// command's output, or nil: a child writes to it directly, with no pipe
// and no copying goroutine, and it vanishes when closed. Each command
// gets its own, so a background process that keeps the descriptor never
// writes into another command's output.
func captureFile() *os.File {
	fd, err := unix.MemfdCreate("gxl-output", unix.MFD_CLOEXEC)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), "gxl-output")
}
