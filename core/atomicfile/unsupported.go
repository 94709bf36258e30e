package atomicfile

import (
	"errors"
	"syscall"
)

// isUnsupported: syncing a folder is refused on some file systems.
func isUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP)
}
