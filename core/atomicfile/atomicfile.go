// Package atomicfile replaces a file whole, so that a crash or a power
// loss leaves either the old content or the new one, never a part: the
// data goes to a temporary file beside it (a name of its own, so
// concurrent writers do not meet), is synced, takes the mode asked, is
// renamed over the file, and the folder is synced so the rename itself
// survives. It is the one way gxl rewrites a file in place: the run
// journal's compaction and its `last` marker, the module lock, gxl fmt -w,
// gx.ver, the REPL history.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces the file path by data with mode perm.
func Write(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	return SyncDir(dir)
}

// ModeOr is the mode of the file at path, or def when there is none: what
// a rewrite keeps.
func ModeOr(path string, def fs.FileMode) fs.FileMode {
	if st, err := os.Stat(path); err == nil {
		return st.Mode().Perm()
	}
	return def
}

// SyncDir makes a folder's entries durable: a file created or renamed in
// it survives a power loss only once the folder is synced. Systems where
// a folder cannot be synced (Windows) skip it.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !os.IsPermission(err) && !isUnsupported(err) {
		return err
	}
	return nil
}
