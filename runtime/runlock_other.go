//go:build !unix

package runtime

import "os"

// lockFile: without flock a run's lock file only records its process; a
// run is never reported as running (see lockProbeWorks).
func lockFile(f *os.File) (held bool, err error) { return false, nil }

func lockHeld(f *os.File) bool { return false }

// lockProbeWorks: on this platform gxl cannot tell a running run from an
// interrupted one; `gxl runs` reports both as interrupted and prune
// removes neither without --failed.
const lockProbeWorks = false
