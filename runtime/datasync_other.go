//go:build !linux

package runtime

import "os"

// datasync makes a file's written data durable (fsync where the system
// has no fdatasync).
func datasync(f *os.File) error { return f.Sync() }
